namespace SparkControl.Web.Api;

/// <summary>The APIs' versions as HTTP entity tags: ETag on reads and writes, If-Match on changes.</summary>
public static class EntityTags
{
    public static string Quote(string version) => $"\"{version}\"";

    /// <summary>The version in an entity tag: <c>"v"</c>, <c>W/"v"</c> or a bare <c>v</c>.</summary>
    public static string Unquote(string tag)
    {
        var trimmed = tag.Trim();
        if (trimmed.StartsWith("W/", StringComparison.Ordinal))
        {
            trimmed = trimmed[2..];
        }

        return trimmed.Length >= 2 && trimmed[0] == '"' && trimmed[^1] == '"' ? trimmed[1..^1] : trimmed;
    }

    /// <summary>The version an If-Match header names, or null when none was sent (then the change is not conditional).</summary>
    public static string? IfMatch(HttpContext context) =>
        context.Request.Headers.IfMatch.ToString() is { Length: > 0 } value && !string.IsNullOrWhiteSpace(value) ? Unquote(value) : null;
}
