using System.Text.Json;

namespace SparkControl.Core.Audio.Referee;

/// <summary>One decision as the model wrote it, before any check; a field it got wrong or left out is null.</summary>
public sealed record ModelDecision(string? Id, string? Speaker, double? Confidence, string? Reason);

/// <summary>
/// Reads the model's answer. Models asked for JSON still wrap it in prose or a Markdown fence, so when the whole answer
/// is not JSON the first balanced <c>{…}</c> block in it is tried (audio.md §4). Everything else about a decision is
/// judged later; here only the shape matters.
/// </summary>
public static class RefereeAnswer
{
    /// <summary>The decisions in <paramref name="content"/>; null when it holds no JSON object with a <c>decisions</c> array.</summary>
    public static IReadOnlyList<ModelDecision>? Parse(string content)
    {
        if (TryRead(content) is { } decisions)
        {
            return decisions;
        }

        return FirstObject(content) is { } block && block.Length != content.Trim().Length ? TryRead(block) : null;
    }

    /// <summary>The first balanced <c>{…}</c> block of <paramref name="text"/> (braces inside JSON strings do not count); null when none closes.</summary>
    public static string? FirstObject(string text)
    {
        var start = text.IndexOf('{', StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        var depth = 0;
        var inString = false;
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
            }
            else if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && --depth == 0)
            {
                return text[start..(i + 1)];
            }
        }

        return null;
    }

    private static List<ModelDecision>? TryRead(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("decisions", out var decisions)
                || decisions.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            return decisions.EnumerateArray().Select(Read).ToList();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ModelDecision Read(JsonElement element) => element.ValueKind != JsonValueKind.Object
        ? new ModelDecision(null, null, null, null)
        : new ModelDecision(Text(element, "id"), Text(element, "speaker"), Number(element, "confidence"), Text(element, "reason"));

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number) ? number : null;
}
