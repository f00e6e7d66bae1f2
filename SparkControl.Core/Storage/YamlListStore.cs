using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using SparkControl.Core.Streams;
using SparkControl.Core.Yaml;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Storage;

/// <summary>The items of a YAML list file, and what was wrong with the file if anything.</summary>
public record YamlList<T>(ImmutableArray<T> Items, ImmutableArray<ConfigProblem> Problems);

/// <summary>A change that conflicts with what exists (a duplicate name, or a Spark that is gone).</summary>
public sealed class SettingsConflictException(string message) : InvalidOperationException(message);

/// <summary>The item changed since the caller read it (another client, or a hand edit of the file): its version differs.</summary>
public sealed class StaleVersionException(string what, string expected, string actual)
    : InvalidOperationException($"{what} was changed by someone else since you read it (version {expected}, now {actual}). Read it again and make your change again.")
{
    public string CurrentVersion { get; } = actual;
}

/// <summary>Short content hashes that say whether something changed since a caller read it (the APIs' ETags).</summary>
public static class ContentVersion
{
    public static string Of(string text) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// A settings file in the data directory that holds a list (<c>sparks.yaml</c>, <c>services.yaml</c>): read at start,
/// published as an immutable snapshot plus stream, changed one writer at a time with validation and an atomic write.
/// Every change reads the file again first, so an edit made by hand since is kept, not overwritten from memory; each
/// item has a version (a hash of its YAML) that a caller may name to be told, instead of overwriting, that it changed.
/// A broken file is reported with its lines and never overwritten.
/// </summary>
public abstract class YamlListStore<T, TList>
    where T : class
    where TList : YamlList<T>
{
    private readonly DataDirectory _dataDirectory;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SnapshotStream<TList> _stream;

    /// <summary>The file's text as last read or written: a different text on disk is a hand edit.</summary>
    private string? _text;

    protected YamlListStore(DataDirectory dataDirectory, TimeProvider time)
    {
        _dataDirectory = dataDirectory;
        var (list, text) = Load();
        _text = text;
        _stream = new SnapshotStream<TList>(list, time);
    }

    public TList Current => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<TList>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public string FilePath => _dataDirectory.Resolve(FileName);

    protected abstract string FileName { get; }

    protected abstract (ImmutableArray<T> Items, ImmutableArray<ConfigProblem> Problems) Read(string text, string file);

    protected abstract string Write(IEnumerable<T> items);

    protected abstract TList Create(ImmutableArray<T> items, ImmutableArray<ConfigProblem> problems);

    protected abstract IReadOnlyList<FieldError> Validate(T item);

    /// <summary>The item's identity in the list (a name), compared without case.</summary>
    protected abstract string KeyOf(T item);

    protected abstract string Describe(string key);

    public T? Find(string key) => Find(Current.Items, key);

    /// <summary>The item's version: a short hash of its YAML, so any change to it changes the version.</summary>
    public string Version(T item) => ContentVersion.Of(Write([item]));

    public Task<T> AddAsync(T item, CancellationToken cancellationToken) =>
        ChangeAsync(items =>
        {
            if (Find(items, KeyOf(item)) is not null)
            {
                throw new SettingsConflictException($"{Describe(KeyOf(item))} already exists.");
            }

            return items.Add(item);
        }, item, null, cancellationToken);

    public Task<T> UpdateAsync(string key, T item, CancellationToken cancellationToken) => UpdateAsync(key, item, null, cancellationToken);

    /// <param name="expectedVersion">When given, the change is made only if the item still has this version.</param>
    public Task<T> UpdateAsync(string key, T item, string? expectedVersion, CancellationToken cancellationToken) =>
        ChangeAsync(items =>
        {
            var existing = Existing(items, key, expectedVersion);
            if (!string.Equals(key, KeyOf(item), StringComparison.OrdinalIgnoreCase) && Find(items, KeyOf(item)) is not null)
            {
                throw new SettingsConflictException($"{Describe(KeyOf(item))} already exists.");
            }

            return items.Replace(existing, item);
        }, item, key, cancellationToken);

    public Task RemoveAsync(string key, CancellationToken cancellationToken) => RemoveAsync(key, null, cancellationToken);

    /// <param name="expectedVersion">When given, the item is removed only if it still has this version.</param>
    public async Task RemoveAsync(string key, string? expectedVersion, CancellationToken cancellationToken) =>
        await ChangeAsync(items => items.Remove(Existing(items, key, expectedVersion)), null, key, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Called, one writer at a time, before an existing item is changed or removed: a store whose items others work
    /// on refuses (by throwing) or holds that work off until the returned handle is disposed.
    /// </summary>
    protected virtual IDisposable? BeginChange(string key) => null;

    private T Existing(ImmutableArray<T> items, string key, string? expectedVersion)
    {
        var existing = Find(items, key) ?? throw new KeyNotFoundException($"{Describe(key)} does not exist.");
        if (expectedVersion is not null && expectedVersion != "*" && Version(existing) is var actual && actual != expectedVersion)
        {
            throw new StaleVersionException(Describe(key), expectedVersion, actual);
        }

        return existing;
    }

    private T? Find(ImmutableArray<T> items, string key) => items.FirstOrDefault(i => string.Equals(KeyOf(i), key, StringComparison.OrdinalIgnoreCase));

    private async Task<T> ChangeAsync(Func<ImmutableArray<T>, ImmutableArray<T>> change, T? changed, string? existingKey, CancellationToken cancellationToken)
    {
        if (changed is not null && Validate(changed) is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var hold = existingKey is null ? null : BeginChange(existingKey);

            // The file as it is now: a hand edit since it was last read is the base of this change, not lost by it.
            var (current, text) = Load();
            if (text != _text)
            {
                _text = text;
                _stream.Publish(current);
            }

            if (!current.Problems.IsEmpty)
            {
                throw new ConfigFileException(FilePath, current.Problems);
            }

            var items = change(current.Items);
            var written = Write(items);
            await _dataDirectory.WriteAtomicAsync(FileName, written, cancellationToken).ConfigureAwait(false);
            _text = written;
            _stream.Publish(Create(items, []));
            return changed!;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>The list in the file and the file's text (null when there is no file or it cannot be read).</summary>
    private (TList List, string? Text) Load()
    {
        var path = FilePath;
        try
        {
            if (!File.Exists(path))
            {
                return (Create([], []), null);
            }

            var text = File.ReadAllText(path);
            var (items, problems) = Read(text, path);
            return (Create(items, problems), text);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (Create([], [new ConfigProblem(path, null, $"cannot be read: {ex.Message}")]), null);
        }
    }
}
