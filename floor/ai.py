"""
The one way to the language model: titles and summaries of issues, polished remedy text.

Talks to OpenAI or to any server that speaks its chat completions protocol (llama.cpp, vLLM, Ollama)
through the `openai` client, configured once from settings: OPENAI_API_KEY, OPENAI_BASE_URL,
OPENAI_MODEL, AI_ENABLED. Called only from background tasks (floor/tasks.py) and `manage.py ai_check`,
never inside a web request, so a slow or failing model never delays an issue.

Only the issue's own text, category, alarm codes and machine name are sent: never people's names.
"""

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta

import openai
from django.conf import settings

log = logging.getLogger(__name__)

# The longest title, the AI's and the plain one alike (floor/reporting.py's make_title cuts to it):
# either is the issue's display_title, in the desk's queue and the page's heading, so one limit for
# both. The prompt asks for it and the reply is checked against it.
TITLE_MAX = 80
SUMMARY_MAX = 2000
REMEDY_MAX = 3000
RETRY_AFTER_MAX = 30.0
# C0 control characters but tab and newline, and DEL: PostgreSQL's text cannot hold NUL at all, and
# the others are invisible on a page or break its lines. Models do write them, local ones especially.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

ISSUE_PROMPT = f"""You help the maintenance team of a CNC machining factory keep a clean logbook.
An operator typed the report below at the machine, fast and with abbreviations.
Reply with a JSON object and nothing else: {{"title": "...", "summary": "..."}}
- title: at most {TITLE_MAX} characters; names the symptom (what is wrong), not the machine; no full stop.
- summary: one to four short full sentences stating only the facts in the report. Keep alarm codes
  exactly as written. Expand obvious abbreviations (spdl = spindle, alm = alarm). Invent nothing:
  no causes, no advice, no facts that are not in the report.
- Write both in the language of the operator's text."""

REMEDY_PROMPT = """You help the maintenance team of a CNC machining factory keep a clean logbook.
A technician typed the remedy below after a repair. Rewrite it as clear, short full sentences: what was
found, what was done, what was replaced. Keep alarm codes, part numbers and quantities exactly as
written. Invent nothing. Write in the language of the technician's text.
Reply with a JSON object and nothing else: {"text": "..."}"""


class AIError(Exception):
    """The model gave no usable answer; the message says why, for maintenance to read."""


class _Retryable(AIError):
    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class IssueText:
    title: str
    summary: str


@dataclass(frozen=True)
class Check:
    model: str
    reply: str
    seconds: float


def is_enabled():
    return settings.AI_ENABLED


def _client():
    # Retries are ours (below): they also cover replies that arrive but are unusable.
    return openai.OpenAI(
        api_key=settings.OPENAI_API_KEY or "not-needed",  # local servers often want no key
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.AI_TIMEOUT_SECONDS,
        max_retries=0,
    )


def _complete(system, user):
    """One chat completion; returns the reply text or raises _Retryable/AIError."""
    try:
        response = _client().chat.completions.create(
            model=settings.OPENAI_MODEL,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            temperature=0.2,
            max_tokens=600,
        )
    except openai.APITimeoutError:
        raise _Retryable(f"The model did not answer within {settings.AI_TIMEOUT_SECONDS:g} s.")
    except openai.APIConnectionError as e:
        raise _Retryable(f"Cannot reach the model server at {_where()}: {e.__cause__ or e}.")
    except openai.RateLimitError as e:
        raise _Retryable("The model server is busy (HTTP 429).", retry_after=_retry_after(e.response))
    except openai.InternalServerError as e:
        raise _Retryable(f"The model server failed (HTTP {e.status_code}).")
    except openai.AuthenticationError:
        raise AIError("The model server refused the API key (HTTP 401). Check OPENAI_API_KEY.")
    except openai.NotFoundError:
        raise AIError(f"The model server does not know model '{settings.OPENAI_MODEL}' (HTTP 404). "
                      "Check OPENAI_MODEL.")
    except openai.APIStatusError as e:
        raise AIError(f"The model server refused the request (HTTP {e.status_code}).")
    except openai.OpenAIError as e:  # a reply the client cannot parse at all
        raise _Retryable(f"The model server's reply could not be read: {e}.")
    except ValueError:
        # HTTP 200 announced as JSON whose body is not (a proxy's error page, a reply cut short): the
        # client's JSON decoder raises this, not one of its own errors.
        raise _Retryable("The model server's reply was not JSON.")
    try:
        content = response.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        raise _Retryable("The model server's reply was not a chat completion.")
    if not isinstance(content, str) and content is not None:
        raise _Retryable("The model server's reply was not a chat completion.")
    if not content or not clean(content).strip():
        raise _Retryable("The model gave an empty reply.")
    return content


def _where():
    return settings.OPENAI_BASE_URL or "api.openai.com"


def _retry_after(response):
    try:
        return min(float(response.headers.get("retry-after")), RETRY_AFTER_MAX)
    except (AttributeError, TypeError, ValueError):
        return None


def clean(text):
    """Text without the control characters that cannot be stored or shown; line ends become newlines."""
    return CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _json_object(content):
    """The JSON object in a reply; models sometimes wrap it in a code fence or a sentence."""
    match = re.search(r"\{.*\}", content, re.DOTALL)
    if not match:
        raise _Retryable("The model's reply was not the requested JSON.")
    try:
        # strict=False: control characters written raw inside the strings are cleaned off below rather
        # than costing another attempt.
        data = json.loads(match.group(0), strict=False)
    except json.JSONDecodeError:
        raise _Retryable("The model's reply was not the requested JSON.")
    if not isinstance(data, dict):
        raise _Retryable("The model's reply was not the requested JSON.")
    return data


def _text(data, key, limit):
    value = data.get(key)
    if isinstance(value, str):
        value = clean(value)
    if not isinstance(value, str) or not value.strip():
        raise _Retryable(f"The model's reply had no {key}.")
    # A title is one line whatever the model wrote: every run of whitespace becomes one space.
    value = " ".join(value.split()) if key == "title" else value.strip()
    if len(value) > limit:
        raise _Retryable(f"The model's {key} was too long ({len(value)} characters, at most {limit}).")
    return value


def _with_retries(attempt):
    """Run attempt() up to AI_ATTEMPTS times, waiting longer each time (or as long as the server
    asked with Retry-After). The last failure's reason is raised as AIError."""
    attempts = settings.AI_ATTEMPTS
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except _Retryable as e:
            if number == attempts:
                raise AIError(f"{e} (after {attempts} attempts)") from e
            delay = e.retry_after if e.retry_after is not None else settings.AI_RETRY_BASE_SECONDS * 2 ** (number - 1)
            log.warning("AI attempt %s of %s failed: %s; retrying in %.1f s", number, attempts, e, delay)
            time.sleep(delay)


def longest_run():
    """Seconds one text may take at most in the worker, from the first request to the last failure:
    every attempt running into AI_TIMEOUT_SECONDS, every wait between them as long as the backoff or a
    server's Retry-After can make it."""
    attempts = settings.AI_ATTEMPTS
    waits = sum(max(settings.AI_RETRY_BASE_SECONDS * 2 ** (number - 1), RETRY_AFTER_MAX)
                for number in range(1, attempts))
    return settings.AI_TIMEOUT_SECONDS * attempts + waits


def pending_limit():
    """How long AI text may stay pending before it counts as failed: the longest run plus
    AI_QUEUE_MARGIN_SECONDS for the queue. Past it, no worker is writing the text any more (it was
    killed or lost its task), and waiting longer would leave "Summarising…" on the page for ever."""
    return timedelta(seconds=longest_run() + settings.AI_QUEUE_MARGIN_SECONDS)


def _facts(*, text, category, alarm_codes, machine_name):
    lines = [f"Machine: {machine_name or 'unknown'}", f"Category: {category}"]
    if alarm_codes:
        lines.append("Alarm codes: " + ", ".join(alarm_codes))
    lines.append("Text:\n" + (text or "(no text)"))
    return "\n".join(lines)


def summarise_issue(*, description, category, alarm_codes, machine_name):
    """A short title and a clean summary of an operator's report. Raises AIError."""
    user = _facts(text=description, category=category, alarm_codes=alarm_codes, machine_name=machine_name)

    def attempt():
        data = _json_object(_complete(ISSUE_PROMPT, user))
        return IssueText(title=_text(data, "title", TITLE_MAX), summary=_text(data, "summary", SUMMARY_MAX))

    return _with_retries(attempt)


def polish_remedy(*, text, category, alarm_codes, machine_name):
    """The technician's remedy text rewritten cleanly. Raises AIError."""
    user = _facts(text=text, category=category, alarm_codes=alarm_codes, machine_name=machine_name)

    def attempt():
        return _text(_json_object(_complete(REMEDY_PROMPT, user)), "text", REMEDY_MAX)

    return _with_retries(attempt)


def check():
    """One real round trip, for the person setting AI up (`manage.py ai_check`). Raises AIError."""
    if not is_enabled():
        raise AIError("AI is off: set OPENAI_API_KEY or OPENAI_BASE_URL (and leave AI_ENABLED unset or true).")
    started = time.monotonic()
    reply = _with_retries(lambda: _complete("Reply with the single word: ready", "Are you ready?"))
    return Check(model=settings.OPENAI_MODEL, reply=clean(reply).strip(), seconds=time.monotonic() - started)
