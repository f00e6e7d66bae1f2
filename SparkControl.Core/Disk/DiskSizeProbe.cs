using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Disk;

/// <summary>How much of a model is on one Spark's disk, and how much room is left there.</summary>
public sealed record ModelDiskUsage(string ModelId, string Spark, string Path, bool Present, long? Bytes, long? ExpectedBytes, long? FreeBytes, DateTimeOffset MeasuredAt, string? Error)
{
    /// <summary>Present but well short of the expected size: a download that stopped part way.</summary>
    public bool Partial => Present && ExpectedBytes is > 0 && Bytes < ExpectedBytes * 0.9;

    public string Key => $"{ModelId}@{Spark}";
}

/// <summary>
/// Measures models on disk: a Hugging Face model by <c>du -sbL</c> of its <c>models--ORG--NAME</c> folder in the Spark's
/// HF cache (one <c>du</c> per repo, since a shared blob is counted once per invocation), a local model by its
/// directory; plus the free space of that file system. Results are cached with their time, measured at start, when
/// the catalog or the Sparks change, on demand, and after a swap ends Ready (<see cref="DiskRemeasureAfterSwaps"/>).
/// </summary>
public sealed partial class DiskSizeProbe(SparkFleet fleet, ModelCatalog catalog, TimeProvider time, ILogger<DiskSizeProbe> logger) : BackgroundService
{
    private readonly SnapshotStream<ImmutableDictionary<string, ModelDiskUsage>> _stream = new(ImmutableDictionary<string, ModelDiskUsage>.Empty, time);

    public ImmutableDictionary<string, ModelDiskUsage> Current => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<ImmutableDictionary<string, ModelDiskUsage>>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public IReadOnlyList<ModelDiskUsage> For(string modelId) =>
        [.. Current.Values.Where(u => u.ModelId == modelId).OrderBy(u => u.Spark, StringComparer.Ordinal)];

    /// <summary>The Sparks a model can be on: its own Spark for a local model, every Spark for a Hugging Face one.</summary>
    public static IEnumerable<SparkEntry> SparksFor(ModelDefinition model, FleetConfiguration fleet) =>
        model.Source is LocalSource local ? fleet.Sparks.Where(s => string.Equals(s.Name, local.Spark, StringComparison.OrdinalIgnoreCase)) : fleet.Sparks;

    /// <summary>
    /// Where the model lives on <paramref name="spark"/> (paths may start with <c>~</c>): a NIM keeps what it downloads
    /// in its own cache, never in the Hugging Face one.
    /// </summary>
    public static string PathOn(ModelDefinition model, SparkDefinition spark) => model.Source switch
    {
        _ when model.Runtime == ModelRuntime.Nim => model.NimCache ?? Launch.LaunchSpecs.NimCachePath,
        HuggingFaceSource hf => $"{spark.HfCachePath.TrimEnd('/')}/hub/{hf.CacheFolder}",
        LocalSource local => local.Path,
        _ => throw new ArgumentOutOfRangeException(nameof(model)),
    };

    /// <summary>Measures one model on every Spark it can be on, now.</summary>
    public Task<IReadOnlyList<ModelDiskUsage>> MeasureAsync(ModelDefinition model, CancellationToken cancellationToken) =>
        MeasureAsync(model, SparksFor(model, fleet.Current), cancellationToken);

    /// <summary>Measures one model on the named Sparks only, now.</summary>
    public Task<IReadOnlyList<ModelDiskUsage>> MeasureAsync(ModelDefinition model, IEnumerable<string> sparks, CancellationToken cancellationToken) =>
        MeasureAsync(model, SparksFor(model, fleet.Current).Where(s => sparks.Contains(s.Name, StringComparer.OrdinalIgnoreCase)), cancellationToken);

    private async Task<IReadOnlyList<ModelDiskUsage>> MeasureAsync(ModelDefinition model, IEnumerable<SparkEntry> sparks, CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(sparks.Select(spark => MeasureOnAsync(model, spark, cancellationToken))).ConfigureAwait(false);
        _stream.Publish(current => current.SetItems(results.Select(r => KeyValuePair.Create(r.Key, r))));
        return results;
    }

    /// <summary>Measures every model on every Spark.</summary>
    public async Task MeasureAllAsync(CancellationToken cancellationToken)
    {
        // One Spark at a time per model keeps du from competing with itself on one disk.
        foreach (var model in catalog.Current.Models)
        {
            await MeasureAsync(model, cancellationToken).ConfigureAwait(false);
        }

        var valid = catalog.Current.Models.SelectMany(m => SparksFor(m, fleet.Current).Select(s => $"{m.Id}@{s.Name}")).ToHashSet(StringComparer.Ordinal);
        _stream.Publish(current => current.Keys.All(valid.Contains) ? current : current.RemoveRange(current.Keys.Where(k => !valid.Contains(k))));
    }

    private async Task<ModelDiskUsage> MeasureOnAsync(ModelDefinition model, SparkEntry spark, CancellationToken cancellationToken)
    {
        var path = PathOn(model, spark.Definition);
        var expected = model.DownloadSizeGiB is { } gib ? (long)(gib * (1L << 30)) : (long?)null;
        try
        {
            var full = await spark.Host.ExpandHomeAsync(path, cancellationToken).ConfigureAwait(false);
            var bytes = await spark.Host.GetDiskUsageAsync(full, cancellationToken).ConfigureAwait(false);
            var space = await spark.Host.GetDiskSpaceAsync(bytes is null ? ParentOf(full) : full, cancellationToken).ConfigureAwait(false);
            return new ModelDiskUsage(model.Id, spark.Name, full, bytes is > 0, bytes, expected, space?.AvailableBytes, time.GetUtcNow(), null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogMeasureFailed(model.Id, spark.Name, ex.Message);
            return new ModelDiskUsage(model.Id, spark.Name, path, false, null, expected, null, time.GetUtcNow(), ex.Message);
        }
    }

    private static string ParentOf(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? "/" : trimmed[..slash];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Measure whenever the catalog or the fleet changes (a model added, a Spark added); the first of each is the start.
            var changes = System.Threading.Channels.Channel.CreateBounded<bool>(new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropOldest });
            var watchCatalog = PumpAsync(catalog.WatchAsync(stoppingToken), changes.Writer, stoppingToken);
            var watchFleet = PumpAsync(fleet.Stream.WatchAsync(stoppingToken), changes.Writer, stoppingToken);
            await foreach (var _ in changes.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await MeasureAllAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogMeasureFailed("*", "*", ex.Message);
                }
            }

            await Task.WhenAll(watchCatalog, watchFleet).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static async Task PumpAsync<T>(IAsyncEnumerable<T> source, System.Threading.Channels.ChannelWriter<bool> changes, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var _ in source.WithCancellation(cancellationToken))
            {
                changes.TryWrite(true);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Measuring {Model} on {Spark} failed: {Reason}")]
    private partial void LogMeasureFailed(string model, string spark, string reason);
}
