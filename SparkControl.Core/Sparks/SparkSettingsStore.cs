using System.Collections.Immutable;
using SparkControl.Core.Shell;
using SparkControl.Core.Storage;
using SparkControl.Core.Streams;
using SparkControl.Core.Yaml;

namespace SparkControl.Core.Sparks;

/// <summary>The Sparks in <c>sparks.yaml</c>, and what was wrong with the file if anything.</summary>
public sealed record SparkSettings(ImmutableArray<SparkDefinition> Sparks, ImmutableArray<ConfigProblem> Problems)
{
    public static readonly SparkSettings Empty = new([], []);

    public SparkDefinition? Find(string name) => Sparks.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>A change that conflicts with what exists (a duplicate name, or a Spark that is gone).</summary>
public sealed class SettingsConflictException(string message) : InvalidOperationException(message);

/// <summary>
/// The one place Sparks are configured: <c>sparks.yaml</c> in the data directory, read at start and written
/// atomically on every change from the Settings page or the API. A broken file is reported, never overwritten.
/// </summary>
public sealed class SparkSettingsStore
{
    private readonly DataDirectory _dataDirectory;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SnapshotStream<SparkSettings> _stream;

    public SparkSettingsStore(DataDirectory dataDirectory, TimeProvider time)
    {
        _dataDirectory = dataDirectory;
        _stream = new SnapshotStream<SparkSettings>(Load(), time);
    }

    public SparkSettings Current => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<SparkSettings>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public string FilePath => _dataDirectory.Resolve(SparksYaml.FileName);

    public Task<SparkDefinition> AddAsync(SparkDefinition spark, CancellationToken cancellationToken) =>
        ChangeAsync(current =>
        {
            if (current.Find(spark.Name) is not null)
            {
                throw new SettingsConflictException($"A Spark named '{spark.Name}' already exists.");
            }

            return [.. current.Sparks, spark];
        }, spark, cancellationToken);

    public Task<SparkDefinition> UpdateAsync(string name, SparkDefinition spark, CancellationToken cancellationToken) =>
        ChangeAsync(current =>
        {
            var existing = current.Find(name) ?? throw new KeyNotFoundException($"No Spark is named '{name}'.");
            if (!string.Equals(name, spark.Name, StringComparison.OrdinalIgnoreCase) && current.Find(spark.Name) is not null)
            {
                throw new SettingsConflictException($"A Spark named '{spark.Name}' already exists.");
            }

            return current.Sparks.Replace(existing, spark);
        }, spark, cancellationToken);

    public async Task RemoveAsync(string name, CancellationToken cancellationToken) =>
        await ChangeAsync(current =>
        {
            var existing = current.Find(name) ?? throw new KeyNotFoundException($"No Spark is named '{name}'.");
            return current.Sparks.Remove(existing);
        }, null, cancellationToken);

    private async Task<SparkDefinition> ChangeAsync(Func<SparkSettings, ImmutableArray<SparkDefinition>> change, SparkDefinition? changed, CancellationToken cancellationToken)
    {
        if (changed is not null && SparkValidation.Validate(changed) is { Count: > 0 } errors)
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

            var sparks = change(current);
            await _dataDirectory.WriteAtomicAsync(SparksYaml.FileName, SparksYaml.Write(sparks), cancellationToken);
            _stream.Publish(new SparkSettings(sparks, []));
            return changed!;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private SparkSettings Load()
    {
        try
        {
            var path = _dataDirectory.Resolve(SparksYaml.FileName);
            if (!File.Exists(path))
            {
                return SparkSettings.Empty;
            }

            var (sparks, problems) = SparksYaml.Read(File.ReadAllText(path), path);
            return new SparkSettings(sparks, problems);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new SparkSettings([], [new ConfigProblem(_dataDirectory.Resolve(SparksYaml.FileName), null, $"cannot be read: {ex.Message}")]);
        }
    }
}
