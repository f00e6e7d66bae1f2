using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparkControl.Core.Collections;

namespace SparkControl.Sim.Server;

/// <summary>
/// One scripted answer: when <see cref="Match"/> occurs (ordinal substring; empty matches anything) in the request's
/// last user message, the simulated model waits <see cref="Delay"/>, then answers <see cref="Reply"/> as the assistant
/// content, or, when <see cref="Status"/> is not 200, that HTTP status with an OpenAI-style error whose message is
/// <see cref="Reply"/>.
/// </summary>
public sealed record SimChatRule(string Match, string? Reply, int Status = 200, TimeSpan Delay = default);

/// <summary>
/// What the simulated chat model says instead of its fixed reply, so a client's handling of real answers (valid,
/// invalid, slow, failing) can be tested against the real wire behaviour. The first matching rule answers; no rule
/// matching, <see cref="Default"/> does when given, else the server's usual reply.
/// </summary>
/// <remarks>
/// The file: <c>{"rules":[{"match":"text","reply":"...","status":200,"delayMs":0}],"default":"..."}</c>. Unknown keys
/// are errors, so a misspelt <c>delayms</c> fails at startup instead of silently answering at once.
/// </remarks>
public sealed record SimChatScript(ValueArray<SimChatRule> Rules, string? Default)
{
    public const int MostDelayMs = 600_000;

    private static readonly string[] RuleKeys = ["match", "reply", "status", "delayMs"];

    /// <summary>The rule that answers <paramref name="lastUserMessage"/>; the default as a rule; null for the usual reply.</summary>
    public SimChatRule? Answer(string lastUserMessage) =>
        Rules.FirstOrDefault(r => lastUserMessage.Contains(r.Match, StringComparison.Ordinal))
        ?? (Default is { } reply ? new SimChatRule(string.Empty, reply) : null);

    /// <summary>Reads and checks the script at <paramref name="path"/>; every problem is a <see cref="FormatException"/> naming <paramref name="key"/>.</summary>
    public static SimChatScript Load(string path, string key)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new FormatException($"{key} names '{path}', which cannot be read: {ex.Message}", ex);
        }

        return Parse(json, $"{key} ('{path}')");
    }

    /// <summary>Parses a script; <paramref name="source"/> starts every error message (the setting and the file).</summary>
    public static SimChatScript Parse(string json, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Bad(source, "the script must be a JSON object with rules and/or a default");
            }

            CheckKeys(root, ["rules", "default"], string.Empty, source);
            var rules = new List<SimChatRule>();
            if (root.TryGetProperty("rules", out var list))
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    throw Bad(source, "rules must be an array");
                }

                rules.AddRange(list.EnumerateArray().Select((rule, i) => ParseRule(rule, $"rules[{i}]", source)));
            }

            string? fallback = null;
            if (root.TryGetProperty("default", out var given))
            {
                fallback = given.ValueKind == JsonValueKind.String ? given.GetString() : throw Bad(source, "default must be a string");
            }

            return rules.Count == 0 && fallback is null ? throw Bad(source, "the script has neither rules nor a default") : new SimChatScript([.. rules], fallback);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{source}: not valid JSON: {ex.Message}", ex);
        }
    }

    private static SimChatRule ParseRule(JsonElement rule, string at, string source)
    {
        if (rule.ValueKind != JsonValueKind.Object)
        {
            throw Bad(source, $"{at} must be an object");
        }

        CheckKeys(rule, RuleKeys, at + ".", source);
        var match = rule.TryGetProperty("match", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : throw Bad(source, $"{at}.match must be a string");
        string? reply = null;
        if (rule.TryGetProperty("reply", out var r))
        {
            reply = r.ValueKind == JsonValueKind.String ? r.GetString() : throw Bad(source, $"{at}.reply must be a string");
        }

        var status = Integer(rule, "status", 200, at, source);
        if (status != 200 && status is < 400 or > 599)
        {
            throw Bad(source, $"{at}.status must be 200 or between 400 and 599, not {status}");
        }

        if (status == 200 && reply is null)
        {
            throw Bad(source, $"{at}.reply is missing (a rule answering 200 needs the reply's text)");
        }

        var delay = Integer(rule, "delayMs", 0, at, source);
        return delay is < 0 or > MostDelayMs
            ? throw Bad(source, $"{at}.delayMs must be between 0 and {MostDelayMs}, not {delay}")
            : new SimChatRule(match, reply, status, TimeSpan.FromMilliseconds(delay));
    }

    private static int Integer(JsonElement rule, string name, int fallback, string at, string source) =>
        !rule.TryGetProperty(name, out var value) ? fallback
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number
        : throw Bad(source, $"{at}.{name} must be a whole number, not {value.GetRawText()}");

    private static void CheckKeys(JsonElement element, string[] known, string at, string source)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                throw Bad(source, $"unknown key {at}{property.Name} (known: {string.Join(", ", known)})");
            }
        }
    }

    private static FormatException Bad(string source, string problem) => new($"{source}: {problem}");

    /// <summary>
    /// The text of the last <c>user</c> message of a chat request's <c>messages</c> (a string, or the text parts of a
    /// list of content parts); empty when there is none.
    /// </summary>
    public static string LastUserMessage(JsonNode? messages)
    {
        if (messages is not JsonArray list)
        {
            return string.Empty;
        }

        foreach (var message in list.Reverse())
        {
            if (message is JsonObject m && m["role"] is JsonValue role && role.TryGetValue<string>(out var name) && name == "user")
            {
                return Text(m["content"]);
            }
        }

        return string.Empty;
    }

    private static string Text(JsonNode? content)
    {
        if (content is JsonValue value && value.TryGetValue<string>(out var text))
        {
            return text;
        }

        var parts = new StringBuilder();
        foreach (var part in content as JsonArray ?? [])
        {
            if (part is JsonObject p && p["text"] is JsonValue t && t.TryGetValue<string>(out var piece))
            {
                parts.Append(piece);
            }
        }

        return parts.ToString();
    }
}
