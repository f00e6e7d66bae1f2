using System.Collections.Immutable;
using SparkControl.Core.Shell;
using SparkControl.Core.Streams;
using SparkControl.Core.Yaml;

namespace SparkControl.Core.Storage;

/// <summary>The items of a YAML list file, and what was wrong with the file if anything.</summary>
public record YamlList<T>(ImmutableArray<T> Items, ImmutableArray<ConfigProblem> Problems);

/// <summary>A change that conflicts with what exists (a duplicate name, or a Spark that is gone).</summary>
public sealed class SettingsConflictException(string message) : InvalidOperationException(message);

/// <summary>
/// A settings file in the data directory that holds a list (<c>sparks.yaml</c>, <c>services.yaml</c>): read at start,
/// published as an immutable snapshot plus stream, changed one writer at a time with validation and an atomic write.
/// A broken file is reported with its lines and never overwritten.
/// </summary>
public abstract class YamlListStore<T, TList>
    where T : class
    where TList : YamlList<T>
{
    private readonly DataDirectory _dataDirectory;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SnapshotStream<TList> _stream;

    protected YamlListStore(DataDirectory dataDirectory, TimeProvider time)
    {
        _dataDirectory = dataDirectory;
        _stream = new SnapshotStream<TList>(Load(), time);
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

    public T? Find(string key) => Current.Items.FirstOrDefault(i => string.Equals(KeyOf(i), key, StringComparison.OrdinalIgnoreCase));

    public Task<T> AddAsync(T item, CancellationToken cancellationToken) =>
        ChangeAsync(items =>
        {
            if (Find(KeyOf(item)) is not null)
            {
                throw new SettingsConflictException($"{Describe(KeyOf(item))} already exists.");
            }

            return items.Add(item);
        }, item, cancellationToken);

    public Task<T> UpdateAsync(string key, T item, CancellationToken cancellationToken) =>
        ChangeAsync(items =>
        {
            var existing = Find(key) ?? throw new KeyNotFoundException($"{Describe(key)} does not exist.");
            if (!string.Equals(key, KeyOf(item), StringComparison.OrdinalIgnoreCase) && Find(KeyOf(item)) is not null)
            {
                throw new SettingsConflictException($"{Describe(KeyOf(item))} already exists.");
            }

            return items.Replace(existing, item);
        }, item, cancellationToken);

    public async Task RemoveAsync(string key, CancellationToken cancellationToken) =>
        await ChangeAsync(items => items.Remove(Find(key) ?? throw new KeyNotFoundException($"{Describe(key)} does not exist.")), null, cancellationToken);

    private async Task<T> ChangeAsync(Func<ImmutableArray<T>, ImmutableArray<T>> change, T? changed, CancellationToken cancellationToken)
    {
        if (changed is not null && Validate(changed) is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            var current = Current;
            if (!current.Problems.IsEmpty)
            {
                throw new ConfigFileException(FilePath, current.Problems);
            }

            var items = change(current.Items);
            await _dataDirectory.WriteAtomicAsync(FileName, Write(items), cancellationToken);
            _stream.Publish(Create(items, []));
            return changed!;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private TList Load()
    {
        var path = FilePath;
        try
        {
            if (!File.Exists(path))
            {
                return Create([], []);
            }

            var (items, problems) = Read(File.ReadAllText(path), path);
            return Create(items, problems);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Create([], [new ConfigProblem(path, null, $"cannot be read: {ex.Message}")]);
        }
    }
}
