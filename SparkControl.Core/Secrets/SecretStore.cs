using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Secrets;

/// <summary>What the panel may say about a secret: whether it is set and when. Never its value.</summary>
public sealed record SecretInfo(string Name, bool IsSet, DateTimeOffset? UpdatedAt);

/// <summary>
/// Secrets (HF token, NGC API key, SSH key passphrases, Qdrant API keys) in <c>secrets.yaml</c>, mode 0600, in the data directory.
/// Write-only from the UI and API: values are read only by the code that sends them to a Spark over stdin.
/// </summary>
public sealed partial class SecretStore
{
    public const string FileName = "secrets.yaml";
    public const string HfToken = "hf-token";
    public const string NgcApiKey = "ngc-api-key";
    public const string PassphrasePrefix = "ssh-passphrase-";
    public const string QdrantApiKeyPrefix = "qdrant-api-key-";
    public const string QdrantReadOnlyApiKeyPrefix = "qdrant-read-only-api-key-";
    public const int MaxValueLength = 8192;

    private readonly DataDirectory _dataDirectory;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private ImmutableDictionary<string, (string Value, DateTimeOffset UpdatedAt)> _secrets;

    public SecretStore(DataDirectory dataDirectory, TimeProvider time)
    {
        _dataDirectory = dataDirectory;
        _time = time;
        (_secrets, LoadProblem) = Load();
        Diagnostics.LogRedactor.AddKnownSecrets(_secrets.Values.Select(s => s.Value));
    }

    /// <summary>Why secrets.yaml could not be read (then nothing is written over it), or null.</summary>
    public string? LoadProblem { get; }

    public static string PassphraseFor(string spark) => PassphrasePrefix + spark;

    /// <summary>The API key the panel sends to one Qdrant service.</summary>
    public static string QdrantApiKeyFor(string spark, string service) => $"{QdrantApiKeyPrefix}{spark}-{service}";

    /// <summary>The read-only API key the panel sends to one Qdrant service when it only reads.</summary>
    public static string QdrantReadOnlyApiKeyFor(string spark, string service) => $"{QdrantReadOnlyApiKeyPrefix}{spark}-{service}";

    /// <summary>Null when <paramref name="name"/> is a secret the panel knows, else why not.</summary>
    public static string? ValidateName(string? name) =>
        name is HfToken or NgcApiKey || (name is not null && (PassphrasePattern().IsMatch(name) || QdrantApiKeyPattern().IsMatch(name)))
            ? null
            : $"unknown secret '{Validation.Validators.Printable(name ?? string.Empty)}': use {HfToken}, {NgcApiKey}, {PassphrasePrefix}<spark>, {QdrantApiKeyPrefix}<spark>-<service> or {QdrantReadOnlyApiKeyPrefix}<spark>-<service>";

    public static string? ValidateValue(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "the value is empty";
        }

        if (value.Length > MaxValueLength)
        {
            return $"the value is longer than {MaxValueLength} characters";
        }

        return value.Any(char.IsControl) ? "the value must not contain control characters or line breaks" : null;
    }

    public IReadOnlyList<SecretInfo> List()
    {
        var names = new List<string> { HfToken, NgcApiKey };
        names.AddRange(_secrets.Keys.Where(k => k.StartsWith(PassphrasePrefix, StringComparison.Ordinal) || k.StartsWith("qdrant-", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        return [.. names.Select(n => _secrets.TryGetValue(n, out var s) ? new SecretInfo(n, true, s.UpdatedAt) : new SecretInfo(n, false, null))];
    }

    /// <summary>The value, for code that passes it to a Spark on stdin. Never show or log it.</summary>
    public string? Reveal(string name) => _secrets.TryGetValue(name, out var secret) ? secret.Value : null;

    public Task SetAsync(string name, string value, CancellationToken cancellationToken) =>
        UpdateAsync(secrets => secrets.SetItem(name, (value, _time.GetUtcNow())), cancellationToken);

    public Task RemoveAsync(string name, CancellationToken cancellationToken) =>
        UpdateAsync(secrets => secrets.Remove(name), cancellationToken);

    private async Task UpdateAsync(Func<ImmutableDictionary<string, (string Value, DateTimeOffset UpdatedAt)>, ImmutableDictionary<string, (string Value, DateTimeOffset UpdatedAt)>> change, CancellationToken cancellationToken)
    {
        if (LoadProblem is not null)
        {
            throw new DataDirectoryException(_dataDirectory.Resolve(FileName), $"{LoadProblem} Fix or remove the file; it was left as it is.");
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var updated = change(_secrets);
            // Known before it is stored: from now on the value is masked wherever the panel might print it.
            Diagnostics.LogRedactor.AddKnownSecrets(updated.Values.Select(s => s.Value));
            var yaml = new YamlWriter().Add("secrets", updated.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new YamlWriter()
                .Add("name", s.Key)
                .Add("value", s.Value.Value)
                .Add("updatedAt", s.Value.UpdatedAt.ToString("O", CultureInfo.InvariantCulture))));
            await _dataDirectory.WriteAtomicAsync(FileName, yaml.ToYaml("Secrets of Spark Control. Mode 0600; set them from the Settings page."), cancellationToken, UnixFileMode.UserRead | UnixFileMode.UserWrite).ConfigureAwait(false);
            _secrets = updated;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private (ImmutableDictionary<string, (string, DateTimeOffset)>, string?) Load()
    {
        var path = _dataDirectory.Resolve(FileName);
        string text;
        try
        {
            if (!File.Exists(path))
            {
                return (ImmutableDictionary<string, (string, DateTimeOffset)>.Empty, null);
            }

            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (ImmutableDictionary<string, (string, DateTimeOffset)>.Empty, $"{path} cannot be read: {ex.Message}");
        }

        var problems = new List<ConfigProblem>();
        var root = YamlMap.Load(text, path, problems);
        var secrets = ImmutableDictionary.CreateBuilder<string, (string, DateTimeOffset)>(StringComparer.Ordinal);
        foreach (var entry in root.Maps("secrets"))
        {
            var name = entry.String("name", required: true);
            var value = entry.String("value", required: true);
            var updated = entry.String("updatedAt");
            entry.RejectUnknown();
            if (name is not null && value is not null && ValidateName(name) is null)
            {
                secrets[name] = (value, DateTimeOffset.TryParse(updated, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : DateTimeOffset.MinValue);
            }
        }

        root.RejectUnknown();
        // Problems are reported without the file's text: it holds secrets.
        return problems.Count == 0
            ? (secrets.ToImmutable(), null)
            : (secrets.ToImmutable(), $"{path} has {problems.Count} problem(s), first at line {problems[0].Line}.");
    }

    [GeneratedRegex("^ssh-passphrase-[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex PassphrasePattern();

    [GeneratedRegex("^qdrant-(read-only-)?api-key-[A-Za-z0-9][A-Za-z0-9._-]{0,63}-[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex QdrantApiKeyPattern();
}
