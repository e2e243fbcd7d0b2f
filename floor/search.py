"""
Searching issues: the desk's search box, and the text it searches.

Each issue keeps a search document (title, AI title and summary, description, alarm codes, the text
read from its photos, the notes of its repeat reports, its remedies and parts), rewritten whenever one
of those changes. On PostgreSQL the box runs a ranked full-text search over it (issues_search,
migration 0007); elsewhere (SQLite) every word must appear somewhere in it. Either way a query that
is an alarm code also finds the issues with exactly that code.
"""

from django.db import connection
from django.db.models import FloatField, Q, Value
from django.db.models.expressions import RawSQL

from floor.models import Attachment, Issue, IssueAlarmCode, Occurrence, Remedy
from floor.ocr import normalise_code

# No stemming: alarm texts, part numbers and several languages mix in one box.
SEARCH_CONFIG = "simple"
BATCH = 500


def compose_document(*parts):
    """The search document from its pieces, blank ones left out."""
    return "\n".join(p.strip() for p in parts if p and p.strip())


def refresh_search_documents(issue_ids):
    """Rewrite the search documents of these issues from what they hold now."""
    ids = list(issue_ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        extra = {pk: [] for pk in chunk}
        for issue_id, code in IssueAlarmCode.objects.filter(issue_id__in=chunk).values_list("issue_id", "code"):
            extra[issue_id].append(code)
        for issue_id, *texts in Remedy.objects.filter(issue_id__in=chunk).values_list(
            "issue_id", "description", "ai_text", "parts_used"
        ):
            extra[issue_id].extend(texts)
        for issue_id, text in Attachment.objects.filter(issue_id__in=chunk).exclude(ocr_text="").values_list(
            "issue_id", "ocr_text"
        ):
            extra[issue_id].append(text)
        for issue_id, text in Occurrence.objects.filter(issue_id__in=chunk).exclude(note="").values_list(
            "issue_id", "note"
        ):
            extra[issue_id].append(text)
        issues = list(Issue.objects.filter(pk__in=chunk).only("title", "ai_title", "description", "ai_summary"))
        for issue in issues:
            issue.search_document = compose_document(
                issue.title, issue.ai_title, issue.description, issue.ai_summary, *extra[issue.pk]
            )
        Issue.objects.bulk_update(issues, ["search_document"])


def fill_all_search_documents(connection):
    """Rewrite every issue's search document. On PostgreSQL one set-based UPDATE, so a factory with a
    million issues is done in a minute or two; elsewhere in batches."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_FILL_ALL_SQL)
        return
    refresh_search_documents(Issue.objects.values_list("pk", flat=True))


_FILL_ALL_SQL = """
UPDATE issues_issue i SET search_document = concat_ws(E'\\n',
    nullif(i.title, ''), nullif(i.ai_title, ''), nullif(i.description, ''), nullif(i.ai_summary, ''),
    (SELECT string_agg(code, E'\\n') FROM issues_alarmcode WHERE issue_id = i.id),
    (SELECT string_agg(concat_ws(E'\\n', nullif(description, ''), nullif(ai_text, ''), nullif(parts_used, '')), E'\\n')
       FROM issues_remedy WHERE issue_id = i.id),
    (SELECT string_agg(ocr_text, E'\\n') FROM issues_attachment WHERE issue_id = i.id AND ocr_text <> ''),
    (SELECT string_agg(note, E'\\n') FROM issues_occurrence WHERE issue_id = i.id AND note <> '')
)
"""


def refresh_search_document(issue):
    refresh_search_documents([issue.pk])


# A search ranks its matches and keeps the best this many; the desk pages through them.
BEST_MATCHES = 1000


def _best_matches(text, limit):
    """Ids of the issues that match `text` best (PostgreSQL), best first.

    Ranked in the narrow issues_search table (migration 0007) rather than with the issues, so a common
    phrase with tens of thousands of matches stays cheap.
    """
    query = f"websearch_to_tsquery('{SEARCH_CONFIG}', %s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT issue_id FROM issues_search WHERE vector @@ {query} "
            f"ORDER BY ts_rank(vector, {query}) DESC, issue_id DESC LIMIT %s",
            [text, text, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _ranked(queryset, ids):
    # The rank is the place in the best-first list: the first gets the highest.
    rank = RawSQL("-array_position(%s::bigint[], issues_issue.id)", [ids], output_field=FloatField())
    return queryset.filter(pk__in=ids).annotate(rank=rank)


def _code(text):
    """The alarm code a query is, when issues have it: then it finds exactly those issues."""
    code = normalise_code(text)
    with_code = IssueAlarmCode.objects.filter(code=code)
    return with_code if with_code.exists() else None


def _words(text):
    words = Q()
    for word in text.split():
        words &= Q(search_document__icontains=word)
    return words


def search(queryset, text):
    """Issues of `queryset` that match `text`, with a `rank` to order by (higher first): the desk's box.

    A query that is a known alarm code finds exactly the issues with that code; any other query is a
    text search. Deciding first, rather than OR-ing both, keeps each an index lookup. On PostgreSQL the
    best BEST_MATCHES matches, ranked.
    """
    text = " ".join(text.split())
    if not text:
        return queryset.annotate(rank=Value(0.0, output_field=FloatField()))
    if (with_code := _code(text)) is not None:
        return queryset.filter(pk__in=with_code.values("issue_id")).annotate(
            rank=Value(1.0, output_field=FloatField())
        )
    if connection.vendor == "postgresql":
        return _ranked(queryset, _best_matches(text, BEST_MATCHES))
    return queryset.filter(_words(text)).annotate(rank=Value(0.0, output_field=FloatField()))


def matching(queryset, text):
    """Every issue of `queryset` that `search` would match (by the same code-or-text rule), unranked, for
    a list kept in an order of its own that pages through all of them (the API's cursor). On PostgreSQL
    a semi-join on the full-text index: a page's walk along the list's own index stops after the page,
    where ranking would first score every match of a common word."""
    text = " ".join(text.split())
    if not text:
        return queryset
    if (with_code := _code(text)) is not None:
        return queryset.filter(pk__in=with_code.values("issue_id"))
    if connection.vendor == "postgresql":
        return queryset.filter(pk__in=RawSQL(
            f"SELECT issue_id FROM issues_search WHERE vector @@ websearch_to_tsquery('{SEARCH_CONFIG}', %s)", [text]))
    return queryset.filter(_words(text))


def similar(queryset, words, *, candidates=50):
    """Issues of `queryset` among the `candidates` whose text shares most of `words`, best first
    (PostgreSQL only)."""
    return _ranked(queryset, _best_matches(" or ".join(words), candidates)).order_by("-rank")
