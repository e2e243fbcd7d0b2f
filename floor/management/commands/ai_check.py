from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from floor import ai


class Command(BaseCommand):
    help = "Make one real request to the configured AI model and print the model, its reply and the time taken."

    def handle(self, *args, **options):
        where = settings.OPENAI_BASE_URL or "OpenAI (api.openai.com)"
        self.stdout.write(f"Endpoint: {where}\nModel: {settings.OPENAI_MODEL}")
        try:
            result = ai.check()
        except ai.AIError as e:
            raise CommandError(f"AI check failed: {e}")
        self.stdout.write(f"Reply: {result.reply}")
        self.stdout.write(self.style.SUCCESS(f"OK in {result.seconds:.2f} s"))
