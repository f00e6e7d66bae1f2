namespace SparkControl.Tests.Shell;

/// <summary>
/// Inputs an attacker or a careless paste could send: shell metacharacters, command substitution, quotes, separators,
/// newlines and NUL, Unicode look-alikes and invisible characters, leading dashes and option smuggling, path
/// traversal, and very long strings. Every one of them is hostile for an identifier, a host name or a path.
/// </summary>
public static class HostileInputs
{
    private static readonly string[] Payloads =
    [
        "'", "\"", "`", "$", ";", "&", "|", "<", ">", "(", ")", "{", "}", "[", "]", "*", "?", "!", "#", "~", "\\", " ", "\t",
        "'; rm -rf / #", "\"; rm -rf / #", "$(id)", "`id`", "${IFS}", "$IFS", "$HOME", "${PATH}", "$((1+1))", "$(( 7 * 6 ))",
        "a;id", "a && id", "a || id", "a | id", "a & id", "a > /tmp/pwned", "a >> /etc/passwd", "a < /etc/shadow", "a 2>&1",
        "<(id)", ">(id)", "a\nid", "a\rid", "a\r\nid", "line1\nline2\n", "\n", "a\u0000b", "\u0000", "a\u001bb", "\u001b[31mred",
        "{a,b}", "{1..9}", "!!", "!$", "a #comment", "<<EOF", "eval id", "exec id", "IFS=: id", "PATH=/tmp:$PATH",
        "../../etc/passwd", "/models/../etc/shadow", "/models/./x", "//etc", "/models/x/..", "/models/x/../..", "..", ".", "./x",
        "-rf", "--help", "-oProxyCommand=id", "--output=/etc/passwd", "-e", "--", "-", "--served-model-name=x --api-key y",
        "x --trust-remote-code", " --port 22", "--port\n22", "model\u200b", "\u200bmodel", "mod\u00adel", "mode\u202el",
        "ｒｍ -ｒｆ", "\uff04(id)", "\uff1bid", "\u2018quoted\u2019", "\u201cquoted\u201d", "\u037eid", "m\u043edel", "\u0430dmin",
        "ﬁle", "e\u0301", "🚀", "\u2028", "\u2029", "\ufeff", "\ud800", "%00", "%2e%2e%2f", "\\x41", "\\'", "a b c",
        " leading", "trailing ", "   ", "", "\u00a0nbsp", "tab\there", "semi;colon", "pipe|pipe", "amp&amp", "dollar$dollar",
        "back`tick", "quote'quote", "dq\"dq", "star*star", "q?q", "br[a]ce", "til~de", "hash#hash", "excl!am", "paren(s)",
        "brace{s}", "less<than", "more>than", "back\\slash", "equals=sign =", "colon: colon", "comma, comma", "at @at",
    ];

    /// <summary>Values every validator of their kind accepts: ids, names, hosts, repos, revisions, paths, flags, sizes.</summary>
    public static readonly string[] ValidValues =
        ["spark-1", "qwen3-8b", "Qwen/Qwen3-8B", "main", "192.168.1.50", "spark-1.lan", "/home/nvidia/models", "~/.cache/huggingface", "--api-key", "--max-model-len", "16g", "8000"];

    /// <summary>The payloads plus variants that keep each payload's danger (embedded, doubled, repeated, very long).</summary>
    public static IReadOnlyList<string> All { get; } = Build();

    public static IEnumerable<object[]> Cases => All.Select(v => new object[] { v });

    /// <summary>Those a process can receive as an argument: argv cannot carry NUL, and a lone surrogate has no UTF-8 form.</summary>
    public static IReadOnlyList<string> ArgvSafe { get; } = [.. All.Where(v => !v.Contains('\0', StringComparison.Ordinal) && !v.Any(char.IsSurrogate))];

    private static List<string> Build()
    {
        var values = new List<string>(Payloads);
        foreach (var payload in Payloads.Where(p => p.Length > 0 && !p.StartsWith('-') && !p.StartsWith('/') && !p.StartsWith('.')))
        {
            values.Add("model" + payload + "name");
            values.Add(payload + payload);
        }

        // A valid value with a line break after it: a pattern anchored with '$' lets it through ('$' matches before a
        // final newline), and the break then ends the remote command line.
        foreach (var valid in ValidValues)
        {
            values.Add(valid + "\n");
            values.Add(valid + "\r");
            values.Add(valid + "\r\n");
        }

        values.Add(new string('A', 10_000));
        values.Add(new string('a', 300) + ";id");
        values.Add(string.Concat(Enumerable.Repeat("$(id)", 2_000)));
        values.Add("/" + string.Join('/', Enumerable.Repeat("very-long-segment", 120)));
        values.Add(new string('-', 5_000));
        return [.. values.Distinct(StringComparer.Ordinal)];
    }
}
