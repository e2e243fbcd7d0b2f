"""What the generated OpenAPI schema cannot know by itself."""


def empty_query_values(result, generator, request, public):
    """An optional query parameter sent empty (`?machine=`) counts as not sent, as on the pages' filters:
    say so in the schema (`allowEmptyValue`), so clients and schema-driven tests know."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result
