using System.Text.RegularExpressions;
using SparkControl.Core.Units;

namespace SparkControl.Core.Validation;

/// <summary>
/// The one set of input validators, shared by the API, the forms and the YAML readers. Each returns null when the
/// value is acceptable, or a message that tells the operator what to change.
/// </summary>
public static partial class Validators
{
    public const int MaxHfNameLength = 96;

    /// <summary>Model ids, served names and aliases: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.</summary>
    public static string? ModelId(string? value, string field = "id")
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{field} is required";
        }

        return ModelIdPattern().IsMatch(value)
            ? null
            : $"{field} '{Printable(value)}' may only hold lower-case letters, digits, '.', '_' and '-', must start with a letter or digit and be at most 64 characters";
    }

    /// <summary>A served model name as clients send it in "model"; letters of either case are allowed, as vLLM allows them, plus '/' as in org/name.</summary>
    public static string? ServedName(string? value, string field = "servedName")
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{field} is required";
        }

        return ServedNamePattern().IsMatch(value) && !value.Contains("//", StringComparison.Ordinal) && !value.EndsWith('/')
            ? null
            : $"{field} '{Printable(value)}' may only hold letters, digits, '.', '_', '-', ':' and '/', must start with a letter or digit and be at most 128 characters";
    }

    /// <summary>Hugging Face repo id, format only (the rules of huggingface_hub's validator); the panel never calls the hub.</summary>
    public static string? HfRepoId(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "repo is required, like Qwen/Qwen3-8B";
        }

        var parts = value.Split('/');
        if (parts.Length > 2)
        {
            return $"repo '{Printable(value)}' has more than one '/'; a Hugging Face repo id is ORG/NAME";
        }

        foreach (var part in parts)
        {
            if (part.Length is 0 or > MaxHfNameLength || !HfPartPattern().IsMatch(part))
            {
                return $"repo '{Printable(value)}' is not a Hugging Face repo id: each part is 1-{MaxHfNameLength} of A-Z a-z 0-9 '_' '.' '-', not starting or ending with '.' or '-'";
            }
        }

        if (value.Contains("--", StringComparison.Ordinal) || value.Contains("..", StringComparison.Ordinal))
        {
            return $"repo '{Printable(value)}' contains '--' or '..', which Hugging Face forbids";
        }

        return value.EndsWith(".git", StringComparison.Ordinal) ? $"repo '{Printable(value)}' must not end with .git" : null;
    }

    /// <summary>A revision: a branch, tag or commit hash.</summary>
    public static string? HfRevision(string? value)
    {
        if (value is null)
        {
            return null;
        }

        return RevisionPattern().IsMatch(value) && !value.Contains("..", StringComparison.Ordinal)
            ? null
            : $"revision '{Printable(value)}' may only hold letters, digits, '.', '_', '-' and '/' (a branch, tag or commit), at most 128 characters";
    }

    /// <summary>The longest cache folder name accepted (a file name; Linux allows 255 bytes).</summary>
    public const int MaxHfCacheFolderLength = 255;

    /// <summary>
    /// A model folder of the Hugging Face hub cache, as the weights cleanup names it: <c>models--</c> then letters,
    /// digits, '.', '_' and '-' (no '/', no '..', no white space or control characters). It is joined to the hub
    /// directory to make the one path <c>rm -rf</c> is given, so nothing in it may lead out of that directory.
    /// </summary>
    public static string? HfCacheFolder(string? value, string field = "folder")
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{field} is required, like models--Qwen--Qwen3-8B";
        }

        return value.Length <= MaxHfCacheFolderLength && HfCacheFolderPattern().IsMatch(value) && !value.Contains("..", StringComparison.Ordinal)
            ? null
            : $"{field} '{Printable(value)}' is not a model folder of the Hugging Face cache: expected models-- then letters, digits, '.', '_' and '-' (no '/' or '..'), at most {MaxHfCacheFolderLength} characters";
    }

    /// <summary>Spark names, container names and service names.</summary>
    public static string? Name(string? value, string field = "name")
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{field} is required";
        }

        return NamePattern().IsMatch(value)
            ? null
            : $"{field} '{Printable(value)}' may only hold letters, digits, '.', '_' and '-', must start with a letter or digit and be at most 64 characters";
    }

    /// <summary>Docker refuses a memory limit below 6 MiB.</summary>
    public const long MinimumMemoryLimit = 6L << 20;

    /// <summary>A memory cap as typed (<c>16g</c>, <c>512m</c>, bytes), at least Docker's minimum.</summary>
    public static string? MemoryLimit(string? value, out long bytes, string field = "memoryLimit")
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(value))
        {
            return $"{field} is required: a size like 16g or 512m";
        }

        return Units.ByteSize.Parse(value, out bytes) switch
        {
            Units.ByteSizeParse.Ok => MemoryLimit(bytes, field),
            Units.ByteSizeParse.TooLarge => $"{field} '{Printable(value)}' is too large: at most {Units.ByteSize.Format(Units.ByteSize.MaxBytes)}",
            _ => $"{field} must be a size like 16g or 512m, not '{Printable(value)}'",
        };
    }

    public static string? MemoryLimit(long bytes, string field = "memoryLimit") =>
        bytes >= MinimumMemoryLimit ? null : $"{field} must be at least 6m (Docker refuses less), not {Units.ByteSize.Format(bytes)}";

    /// <summary>
    /// A memory cap for a container on a Spark with <paramref name="sparkMemoryBytes"/> of memory: a cap above it
    /// caps nothing, so it is refused with the Spark's memory named.
    /// </summary>
    public static string? MemoryLimit(long bytes, string spark, long sparkMemoryBytes, string field = "memoryLimit") =>
        MemoryLimit(bytes, field)
        ?? (bytes <= sparkMemoryBytes ? null : $"{field} {Units.ByteSize.Format(bytes)} is more than {spark} has: {Units.ByteSize.HumanBinary(sparkMemoryBytes)} of memory");

    public static string? Port(int? value, string field = "port") =>
        value is null or (>= 1 and <= 65535) ? null : $"{field} must be between 1 and 65535, not {value}";

    /// <summary>A count the caller confirms (packages to remove): absent, or 0 and up.</summary>
    public static string? Count(int? value, string field) =>
        value is null or >= 0 ? null : $"{field} must be 0 or more, not {value}";

    /// <summary>The shortest and longest idle time before a model is unloaded.</summary>
    public static readonly TimeSpan MinIdleUnloadAfter = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxIdleUnloadAfter = TimeSpan.FromDays(30);

    /// <summary>A model's idle time before it is unloaded (null, never, is always valid).</summary>
    public static string? IdleUnloadAfter(TimeSpan? value, string field = "idleUnloadAfter") =>
        value is null || (value >= MinIdleUnloadAfter && value <= MaxIdleUnloadAfter)
            ? null
            : $"{field} must be between 1 second and 30 days (or empty to keep the model loaded), not {value}";

    /// <summary>The longest webhook address accepted.</summary>
    public const int MaxWebhookUrlLength = 2048;

    /// <summary>
    /// A webhook address: absolute http or https with a host, no spaces or control characters. The message never
    /// repeats the value: a webhook address often holds its token (Slack, ntfy topics).
    /// </summary>
    public static string? WebhookUrl(string? value, string field = "url")
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{field} is required: the webhook's http:// or https:// address";
        }

        if (value.Length > MaxWebhookUrlLength || value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return $"{field} must be one address of at most {MaxWebhookUrlLength} characters, without spaces or line breaks";
        }

        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
            ? null
            : $"{field} must be an absolute http:// or https:// address with a host";
    }

    /// <summary>A host name or IP address to reach a Spark at.</summary>
    public static string? Host(string? value, string field = "host")
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{field} is required";
        }

        if (System.Net.IPAddress.TryParse(value, out _) && !value.Contains('%', StringComparison.Ordinal))
        {
            return null;
        }

        return HostPattern().IsMatch(value)
            ? null
            : $"{field} '{Printable(value)}' is not a host name or IP address";
    }

    /// <summary>
    /// An absolute POSIX path, normalized: no '..' or '.' segments, no empty segments, no control characters, no
    /// leading '-' in any segment. Whether it lies under an allowed root is <see cref="PathUnderRoots"/>.
    /// </summary>
    public static string? AbsolutePath(string? value, string field = "path")
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{field} is required";
        }

        if (value.Length > 1024)
        {
            return $"{field} is longer than 1024 characters";
        }

        if (value[0] != '/')
        {
            return $"{field} '{Printable(value)}' must be absolute (start with '/')";
        }

        foreach (var c in value)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\uFEFF' || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.Surrogate or System.Globalization.UnicodeCategory.OtherNotAssigned)
            {
                return $"{field} must not contain control or invisible characters";
            }
        }

        if (!PathPattern().IsMatch(value))
        {
            return $"{field} '{Printable(value)}' may only hold letters, digits, '/', '.', '_', '-', '+', '@' and '='";
        }

        if (value.Length > 1 && value.EndsWith('/'))
        {
            return $"{field} '{Printable(value)}' must not end with '/'";
        }

        if (value == "/")
        {
            return $"{field} must be a directory below '/', not '/' itself";
        }

        foreach (var segment in value.Split('/').Skip(1))
        {
            if (segment.Length == 0)
            {
                return $"{field} '{Printable(value)}' has an empty segment ('//')";
            }

            if (segment is "." or "..")
            {
                return $"{field} '{Printable(value)}' must not contain '.' or '..' segments";
            }

            if (segment[0] == '-')
            {
                return $"{field} '{Printable(value)}' has a segment starting with '-'";
            }
        }

        return null;
    }

    /// <summary>
    /// An absolute path, or one under the login user's home written <c>~/...</c> (expanded on the Spark, never by a
    /// shell): the part after <c>~</c> follows the same rules as an absolute path.
    /// </summary>
    public static string? HomeOrAbsolutePath(string? value, string field = "path") =>
        value is not null && value.StartsWith("~/", StringComparison.Ordinal)
            ? (AbsolutePath(value[1..], field) is { } error ? error.Replace($"'{Printable(value[1..])}'", $"'{Printable(value)}'", StringComparison.Ordinal) : null)
            : AbsolutePath(value, field);

    /// <summary>Checks <paramref name="path"/> is a valid absolute path at or below one of <paramref name="roots"/>.</summary>
    public static string? PathUnderRoots(string? path, IReadOnlyCollection<string> roots, string field = "path")
    {
        if (AbsolutePath(path, field) is { } error)
        {
            return error;
        }

        if (roots.Count == 0)
        {
            return "this Spark has no allow-listed model roots; add one in Settings (modelRoots)";
        }

        return roots.Any(root => IsUnder(path!, root))
            ? null
            : $"{field} '{path}' is not under an allow-listed root ({string.Join(", ", roots)})";
    }

    public static bool IsUnder(string path, string root)
    {
        var normalizedRoot = root.Length > 1 ? root.TrimEnd('/') : root;
        return path == normalizedRoot
            || (normalizedRoot == "/" ? path.StartsWith('/') : path.StartsWith(normalizedRoot + "/", StringComparison.Ordinal));
    }

    /// <summary>A vLLM flag name: <c>--</c> then lower-case words joined by '-'.</summary>
    public static string? FlagName(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "flag name is required";
        }

        return FlagPattern().IsMatch(value)
            ? null
            : $"'{Printable(value)}' is not a vLLM flag name: expected --lower-case-words";
    }

    /// <summary>
    /// A flag value: any printable text without control characters, at most 4096 characters. It always reaches the
    /// remote side as one quoted argument, so shell characters are inert; a leading '-' is refused so a value can
    /// never be mistaken for another flag.
    /// </summary>
    public static string? FlagValue(string? value, string flag)
    {
        if (value is null)
        {
            return $"{flag} needs a value";
        }

        if (value.Length > 4096)
        {
            return $"the value of {flag} is longer than 4096 characters";
        }

        if (value.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029'))
        {
            return $"the value of {flag} must not contain control characters";
        }

        if (value.StartsWith('-') && !NegativeNumberPattern().IsMatch(value))
        {
            return $"the value of {flag} must not start with '-'";
        }

        return null;
    }

    /// <summary>An optional moment in ISO 8601 with a zone (<c>2026-11-26T10:00:00Z</c>); absent is acceptable and gives null.</summary>
    public static string? Timestamp(string? value, out DateTimeOffset? parsed, string field)
    {
        parsed = null;
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var at)
            && TimestampPattern().IsMatch(value))
        {
            parsed = at.ToUniversalTime();
            return null;
        }

        return $"{field} '{Printable(value)}' is not a time like 2026-11-26T10:00:00Z (ISO 8601 with Z or an offset)";
    }

    /// <summary>
    /// A whole number as typed into a form: empty means "not set" (null); anything else must be one, so a form never
    /// saves a typed value it could not read as if the field had been left empty. Spaces around it are forgiven (a
    /// typed or pasted form, non-breaking ones too); a line break, tab or any other control character is not: the framework's own number parsing would
    /// take "2\n" for 2, and a value that arrived with one is not the value the caller meant to send.
    /// </summary>
    public static string? WholeNumber(string? text, out int? value, string field)
    {
        value = null;
        if (string.IsNullOrEmpty(text) || text.All(IsTypedSpace))
        {
            return null;
        }

        var trimmed = TrimTypedSpace(text);
        if (int.TryParse(trimmed, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
            return null;
        }

        return IntegerPattern().IsMatch(trimmed)
            ? $"{field} {Printable(trimmed)} is out of range"
            : $"{field} must be a whole number, not '{Printable(text)}'";
    }

    /// <summary>
    /// A yes/no form field: true, on, 1, yes or false, off, 0, no (any case; "on" is what an HTML checkbox sends); empty
    /// means "not set" (null), anything else is an error naming the field.
    /// </summary>
    public static string? Flag(string? text, out bool? value, string field)
    {
        value = text?.ToLowerInvariant() switch
        {
            null or "" => null,
            "true" or "on" or "1" or "yes" => true,
            "false" or "off" or "0" or "no" => false,
            _ => null,
        };
        return value is null && !string.IsNullOrEmpty(text) ? $"{field} must be true or false, not '{Printable(text)}'" : null;
    }

    /// <summary>
    /// A decimal number as typed into a form (a '.' for the point): empty means "not set" (null); spaces around it are
    /// forgiven and control characters are not, as for <see cref="WholeNumber"/>.
    /// </summary>
    public static string? Number(string? text, out double? value, string field)
    {
        value = null;
        if (string.IsNullOrEmpty(text) || text.All(IsTypedSpace))
        {
            return null;
        }

        if (double.TryParse(TrimTypedSpace(text), System.Globalization.NumberStyles.AllowLeadingSign | System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
            && double.IsFinite(parsed))
        {
            value = parsed;
            return null;
        }

        return $"{field} must be a number like 0.7, not '{Printable(text)}'";
    }

    /// <summary>An optional choice among <paramref name="allowed"/> (case-insensitive); absent is acceptable.</summary>
    public static string? OneOf(string? value, IReadOnlyList<string> allowed, string field) =>
        string.IsNullOrEmpty(value) || allowed.Contains(value, StringComparer.OrdinalIgnoreCase)
            ? null
            : $"{field} '{Printable(value)}' must be one of {string.Join(", ", allowed)}";

    private static bool IsTypedSpace(char c) => char.IsWhiteSpace(c) && !char.IsControl(c);

    private static string TrimTypedSpace(string text)
    {
        var start = 0;
        var end = text.Length;
        while (start < end && IsTypedSpace(text[start]))
        {
            start++;
        }

        while (end > start && IsTypedSpace(text[end - 1]))
        {
            end--;
        }

        return text[start..end];
    }

    /// <summary>Shows a value in an error message without letting it break the message (control characters escaped, length capped).</summary>
    public static string Printable(string value) => Escaped(value.Length > 80 ? value[..80] + "…" : value);

    /// <summary>The whole value with its control characters escaped (\u000a): for a record that keeps it all, such as the audit log.</summary>
    public static string Escaped(string value)
    {
        if (!value.Any(char.IsControl))
        {
            return value;
        }

        var builder = new System.Text.StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return builder.ToString();
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ModelIdPattern();

    // After the prefix a letter, digit or '_': neither "models---x" nor "models--.x" names a repo.
    [GeneratedRegex("^models--[A-Za-z0-9_][A-Za-z0-9._-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex HfCacheFolderPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ServedNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex HfPartPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._/-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex RevisionPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^(?=.{1,253}\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();

    [GeneratedRegex("^[A-Za-z0-9/._+@=-]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex PathPattern();

    [GeneratedRegex("^--[a-z0-9]+(?:-[a-z0-9]+)*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex FlagPattern();

    [GeneratedRegex(@"^[+-]?[0-9]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^-[0-9]+(\.[0-9]+)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex NegativeNumberPattern();

    // A date, a time and a zone: a moment without a zone would depend on the server's.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})\z", RegexOptions.CultureInvariant)]
    private static partial Regex TimestampPattern();
}
