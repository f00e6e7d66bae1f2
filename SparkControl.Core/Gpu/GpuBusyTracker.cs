using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Gpu;

/// <summary>
/// Follows every Spark's GPU sample stream, keeps the busy ledger per Spark and model (<see cref="GpuLedgerAccumulator"/>),
/// writes it to the store's rollups every flush interval and publishes each Spark's live GPU state. A stream that fails
/// or ends is opened again after the reconnect delay; what it repeats is not counted twice.
/// </summary>
public sealed partial class GpuBusyTracker : BackgroundService
{
    private static readonly TimeSpan BusyRatioWindow = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);

    /// <summary>How often a Spark's live state (what the pages show) moves on; the ledger counts every sample.</summary>
    private static readonly TimeSpan LiveRefresh = TimeSpan.FromSeconds(1);

    private readonly SparkFleet _fleet;
    private readonly IModelActivitySource _activity;
    private readonly GpuLedgerStore _store;
    private readonly SparkControlMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly IOptionsMonitor<SparkControlOptions> _options;
    private readonly ILogger<GpuBusyTracker> _logger;
    private readonly SnapshotStream<GpuFleetState> _stream;
    private readonly Lock _gate = new();
    private readonly GpuLedgerAccumulator _ledger;
    private readonly Dictionary<string, LiveView> _live = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Watcher> _watchers = new(StringComparer.OrdinalIgnoreCase);
    private DateTimeOffset _prunedAt = DateTimeOffset.MinValue;

    public GpuBusyTracker(
        SparkFleet fleet,
        IModelActivitySource activity,
        GpuLedgerStore store,
        SparkControlMetrics metrics,
        TimeProvider time,
        IOptionsMonitor<SparkControlOptions> options,
        ILogger<GpuBusyTracker> logger)
    {
        _fleet = fleet;
        _activity = activity;
        _store = store;
        _metrics = metrics;
        _time = time;
        _options = options;
        _logger = logger;
        _stream = new SnapshotStream<GpuFleetState>(GpuFleetState.Empty, time);
        _ledger = new GpuLedgerAccumulator(options.CurrentValue.Gpu.GapThreshold);
        metrics.ObserveGpu(() => _stream.Current.Value.Sparks.Select(s => new SparkControlMetrics.GpuReading(
            s.Spark, s.Latest?.UtilizationPercent, s.BusyRatio, s.Memory?.UsedBytes)));
    }

    public Versioned<GpuFleetState> Current => _stream.Current;

    public IAsyncEnumerable<Versioned<GpuFleetState>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    /// <summary>Whether the ledger is kept in the store (otherwise only in memory, until the panel stops).</summary>
    public bool IsPersistent => _store.IsAvailable;

    public string? StoreProblem => _store.UnavailableReason;

    /// <summary>
    /// The ledger over [<paramref name="from"/>, <paramref name="to"/>) resolved to whole minutes, stored rollups plus
    /// what is not written yet. Without <paramref name="from"/> it starts at the first data; without <paramref name="to"/>
    /// it runs to now, including the minute in progress.
    /// </summary>
    public LedgerReport Read(DateTimeOffset? from, DateTimeOffset? to, LedgerGrouping by)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var pending = _ledger.Pending;
            // Open-ended, the range runs to the end of the minute in progress, or of a later minute not written yet
            // (a Spark whose clock runs a little ahead of the panel's).
            var endOfNow = LedgerTime.Minute(now).AddMinutes(1);
            var latestPending = pending.Count == 0 ? endOfNow : pending.Keys.Max(k => k.Minute).AddMinutes(1);
            var end = to ?? (latestPending > endOfNow ? latestPending : endOfNow);
            var start = from ?? FirstData(pending) ?? LedgerTime.Minute(to ?? now);
            if (end <= start)
            {
                return new LedgerReport(start, to ?? now, by, []);
            }

            var buckets = new List<LedgerBucket>();
            if (_store.IsAvailable)
            {
                foreach (var piece in LedgerPlan.For(start, end, by))
                {
                    buckets.AddRange(_store.Read(piece.Resolution, piece.From, piece.To));
                }
            }

            var firstMinute = LedgerTime.Minute(start);
            var lastMinute = LedgerTime.Ceiling(end, TimeSpan.TicksPerMinute);
            buckets.AddRange(pending.Where(p => p.Key.Minute >= firstMinute && p.Key.Minute < lastMinute)
                .Select(p => new LedgerBucket(p.Key.Spark, p.Key.Model, p.Key.Minute, p.Value)));
            return new LedgerReport(start, to ?? now, by, LedgerPlan.Group(buckets, by));
        }
    }

    /// <summary>Writes what was counted since the last flush to the store; kept in memory when that fails.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (_store.IsAvailable)
            {
                // What cannot be saved (reported by the store) stays pending and is tried again at the next flush.
                var batch = _ledger.TakePending();
                if (!_store.Add(batch, _ledger.Cursors))
                {
                    _ledger.Return(batch);
                }
                else if (_time.GetUtcNow() is var now && now - _prunedAt >= PruneEvery)
                {
                    var gpu = _options.CurrentValue.Gpu;
                    if (_store.Prune(now, gpu.MinuteRetention, gpu.HourRetention))
                    {
                        _prunedAt = now;
                    }
                }
            }
        }

        _stream.Publish(state => state with { LedgerVersion = state.LedgerVersion + 1 });
    }

    /// <summary>Counts one sample of <paramref name="spark"/>, and publishes it when the live state is due to move on.</summary>
    public SampleCount Record(string spark, GpuSample sample)
    {
        SampleCount count;
        double? ratio;
        GpuSample? shown;
        var activity = _activity.Current.Value.Find(spark);
        lock (_gate)
        {
            count = _ledger.Add(spark, sample, activity);
            if (!_live.TryGetValue(spark, out var live))
            {
                _live[spark] = live = new LiveView(new BusyWindow(BusyRatioWindow), new LiveSampler(LiveRefresh));
            }

            live.Window.Add(sample.Timestamp, count.Seconds);
            ratio = live.Window.Ratio;
            shown = live.Sampler.Add(sample, count);
        }

        _metrics.RecordGpuSample(spark, count.Outcome.ToString().ToLowerInvariant());
        _metrics.RecordGpuLedger(spark, count.Model, count.Seconds.ByState());
        if (shown is null)
        {
            return count;
        }

        _stream.Publish(state => state.With(spark, s => s.WithSample(shown) with { Activity = activity, BusyRatio = ratio }));
        return count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Resume();
        var flushing = FlushLoopAsync(stoppingToken);
        try
        {
            await foreach (var update in _fleet.Stream.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                await FollowAsync(update.Value, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await FollowAsync(FleetConfiguration.Empty, stoppingToken).ConfigureAwait(false);
            await flushing.ConfigureAwait(false);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // What was counted since the last flush survives a clean stop.
        Flush();
    }

    /// <summary>Continues from the last samples stored, so a stream that repeats them after a restart is not counted again.</summary>
    private void Resume()
    {
        if (!_store.IsAvailable)
        {
            return;
        }

        lock (_gate)
        {
            foreach (var (spark, at) in _store.ReadCursors())
            {
                _ledger.Resume(spark, at);
            }
        }
    }

    private async Task FlushLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.CurrentValue.Gpu.FlushInterval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            Flush();
        }
    }

    /// <summary>Starts a watcher for each new Spark (or a Spark whose host was replaced) and stops those of Sparks gone.</summary>
    private async Task FollowAsync(FleetConfiguration fleet, CancellationToken stoppingToken)
    {
        var stale = _watchers.Values.Where(w => fleet.Find(w.Spark) is not { } entry || !ReferenceEquals(entry.Host, w.Host)).ToList();
        foreach (var watcher in stale)
        {
            _watchers.Remove(watcher.Spark);
            await watcher.StopAsync().ConfigureAwait(false);
        }

        foreach (var entry in fleet.Sparks.Where(s => !_watchers.ContainsKey(s.Name)))
        {
            var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var name = entry.Name;
            _stream.Publish(state => state.Find(name) is null ? state with { Sparks = state.Sparks.Add(new SparkGpuState { Spark = name }) } : state);
            _watchers[name] = new Watcher(name, entry.Host, cts, Task.WhenAll(SamplesLoopAsync(entry.Host, name, cts.Token), MemoryLoopAsync(entry.Host, name, cts.Token)));
        }

        var names = fleet.Sparks.Select(s => s.Name).ToImmutableHashSet(StringComparer.OrdinalIgnoreCase);
        _stream.Publish(state => state.Sparks.All(s => names.Contains(s.Spark)) ? state : state with { Sparks = [.. state.Sparks.Where(s => names.Contains(s.Spark))] });
    }

    private async Task SamplesLoopAsync(ISparkHost host, string spark, CancellationToken cancellationToken)
    {
        await Task.Yield();
        while (!cancellationToken.IsCancellationRequested)
        {
            string reason;
            try
            {
                _stream.Publish(state => state.With(spark, s => s with { Status = GpuStreamStatus.Connecting }));
                await foreach (var sample in host.WatchGpuAsync(cancellationToken).ConfigureAwait(false))
                {
                    Record(spark, sample);
                }

                reason = "the sample stream ended";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                reason = ex.Message;
                LogStreamFailed(spark, ex);
            }

            _metrics.RecordGpuStreamRestart(spark);
            _stream.Publish(state => state.With(spark, s => s with { Status = GpuStreamStatus.Interrupted, Error = reason }));
            try
            {
                await Task.Delay(_options.CurrentValue.Gpu.ReconnectDelay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task MemoryLoopAsync(ISparkHost host, string spark, CancellationToken cancellationToken)
    {
        await Task.Yield();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var memory = await host.GetMemoryInfoAsync(cancellationToken).ConfigureAwait(false);
                _stream.Publish(state => state.With(spark, s => s with { Memory = memory }));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogMemoryFailed(spark, ex);
            }

            try
            {
                await Task.Delay(_options.CurrentValue.Gpu.MemoryInterval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private DateTimeOffset? FirstData(IReadOnlyDictionary<LedgerKey, LedgerSeconds> pending)
    {
        DateTimeOffset? stored = _store.IsAvailable ? _store.FirstBucket() : null;
        DateTimeOffset? unwritten = pending.Count == 0 ? null : pending.Keys.Min(k => k.Minute);
        return stored is null ? unwritten : unwritten is null ? stored : stored < unwritten ? stored : unwritten;
    }

    /// <summary>What a Spark's live state is made from: the recent busy ratio and the once-a-second sample.</summary>
    private sealed record LiveView(BusyWindow Window, LiveSampler Sampler);

    private sealed record Watcher(string Spark, ISparkHost Host, CancellationTokenSource Cancellation, Task Loops)
    {
        public async Task StopAsync()
        {
            await Cancellation.CancelAsync().ConfigureAwait(false);
            try
            {
                await Loops.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            Cancellation.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPU samples of {Spark} stopped; opening the stream again")]
    private partial void LogStreamFailed(string spark, Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading unified memory of {Spark} failed")]
    private partial void LogMemoryFailed(string spark, Exception ex);
}
