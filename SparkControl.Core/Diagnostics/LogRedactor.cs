using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace SparkControl.Core.Diagnostics;

/// <summary>
/// Removes secrets from log lines before they reach a browser or a download: the values of the panel's own secrets
/// word for word (whatever their shape), API keys and tokens of the services a Spark runs (Hugging Face, NGC,
/// OpenAI-style, AWS, GitHub, Slack, JWTs), bearer and basic credentials, passwords in URLs, and <c>KEY=value</c> /
/// <c>"key": "value"</c> pairs whose name says secret.
/// </summary>
public static partial class LogRedactor
{
    public const string Mask = "[REDACTED]";

    /// <summary>Values shorter than this are not masked word for word: they would mask ordinary words too.</summary>
    public const int MinKnownLength = 6;

    // Process-wide, as the secrets are: a value once known stays masked (after a rotation the old one still is).
    private static ImmutableArray<string> _known = [];

    private static readonly (Regex Pattern, string Replacement)[] Rules =
    [
        // Credentials in URLs: scheme://user:password@host
        (UrlCredentials(), "$1$2:" + Mask + "@"),
        // Authorization headers and bearer tokens.
        (BearerToken(), "$1" + Mask),
        (BasicAuth(), "$1" + Mask),
        // Named secrets: api_key=..., "password": "...", --api-key ..., HF_TOKEN=..., NGC_API_KEY: ...
        (NamedSecretJson(), "$1" + Mask + "$3"),
        // Python reprs, as vLLM prints its non-default args: 'api_key': 'x' or 'api_key': ['x'].
        (NamedSecretPython(), "$1" + Mask + "$3"),
        (NamedSecretFlag(), "$1" + Mask),
        (NamedSecretAssignment(), "$1" + Mask),
        // Well-known token shapes anywhere in a line.
        (KnownTokens(), Mask),
        (Jwt(), Mask),
    ];

    /// <summary>Makes the values masked wherever they appear, whatever their shape (the secret store calls this).</summary>
    public static void AddKnownSecrets(IEnumerable<string> values)
    {
        ImmutableInterlocked.Update(ref _known, known =>
        {
            var added = values.Where(v => v.Length >= MinKnownLength && !known.Contains(v)).Distinct(StringComparer.Ordinal).ToList();
            // Longest first, so a value that contains another is masked whole.
            return added.Count == 0 ? known : [.. known.Concat(added).OrderByDescending(v => v.Length)];
        });
    }

    public static string Redact(string line)
    {
        foreach (var value in _known)
        {
            line = line.Replace(value, Mask, StringComparison.Ordinal);
        }

        foreach (var (pattern, replacement) in Rules)
        {
            line = pattern.Replace(line, replacement);
        }

        return line;
    }

    [GeneratedRegex(@"([a-zA-Z][a-zA-Z0-9+.-]*://)([^:/@\s]*):([^@\s/]+)@", RegexOptions.CultureInvariant)]
    private static partial Regex UrlCredentials();

    [GeneratedRegex(@"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{6,}", RegexOptions.CultureInvariant)]
    private static partial Regex BearerToken();

    [GeneratedRegex(@"(?i)(\bauthorization:\s*basic\s+)[A-Za-z0-9+/=]{6,}", RegexOptions.CultureInvariant)]
    private static partial Regex BasicAuth();

    /// <summary>
    /// A name that says secret. "token" only at the end of a name, so vLLM's <c>tokenizer=</c>, <c>max_tokens</c> and
    /// <c>--max-num-batched-tokens</c> stay readable while <c>hf_token</c> and <c>HF_TOKEN</c> do not.
    /// </summary>
    private const string SecretName = @"(?:[a-z0-9_-]*(?:api[_-]?key|access[_-]?key|secret|password|passwd)[a-z0-9_-]*|[a-z0-9_-]*token)";

    [GeneratedRegex(@"(?i)(""" + SecretName + @"""\s*:\s*"")([^""]+)("")", RegexOptions.CultureInvariant)]
    private static partial Regex NamedSecretJson();

    [GeneratedRegex(@"(?i)('" + SecretName + @"'\s*:\s*\[?\s*')([^']+)(')", RegexOptions.CultureInvariant)]
    private static partial Regex NamedSecretPython();

    [GeneratedRegex(@"(?i)(--(?:[a-z0-9-]*-)?(?:api-key|token|secret|password|passwd)(?:=|\s+))(?!\[REDACTED\])\S+", RegexOptions.CultureInvariant)]
    private static partial Regex NamedSecretFlag();

    [GeneratedRegex(@"(?i)(\b" + SecretName + @"\s*[=:]\s*)(?!\[REDACTED\])(?:'[^']*'|""[^""]*""|[^\s'"",;]+)", RegexOptions.CultureInvariant)]
    private static partial Regex NamedSecretAssignment();

    [GeneratedRegex(@"\b(?:hf_[A-Za-z0-9]{20,}|nvapi-[A-Za-z0-9_-]{20,}|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20})", RegexOptions.CultureInvariant)]
    private static partial Regex KnownTokens();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();
}
