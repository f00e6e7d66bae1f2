using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Gpu;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Operations;

/// <summary>
/// Watches what alerts are about (the event feed for services and swaps, the GPU tracker's unified memory, each
/// Spark's disks on a timer), asks <see cref="AlertRules"/> what that means for each webhook and hands the alerts to
/// <see cref="AlertDelivery"/> without waiting for them.
/// </summary>
public sealed partial class AlertMonitor(
    FleetEventFeed feed,
    GpuBusyTracker gpu,
    SparkFleet fleet,
    AlertSettingsStore settings,
    AlertDelivery delivery,
    IOptionsMonitor<OperationsOptions> options,
    TimeProvider time,
    ILogger<AlertMonitor> logger) : BackgroundService
{
    private readonly AlertRules _rules = new();
    private readonly object _gate = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(FollowEventsAsync(stoppingToken), FollowMemoryAsync(stoppingToken), CheckDisksAsync(stoppingToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task FollowEventsAsync(CancellationToken stoppingToken)
    {
        long? last = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            // A watcher the feed ended (it fell a buffer behind) comes back from its last id; the rules ignore replays.
            await foreach (var item in feed.WatchAsync(last, stoppingToken).ConfigureAwait(false))
            {
                last = item.Id;
                Dispatch(targets => _rules.OnEvent(item, targets), stoppingToken);
            }
        }
    }

    private async Task FollowMemoryAsync(CancellationToken stoppingToken)
    {
        await foreach (var update in gpu.WatchAsync(stoppingToken).ConfigureAwait(false))
        {
            foreach (var spark in update.Value.Sparks)
            {
                if (spark.Memory is { TotalBytes: > 0 } memory)
                {
                    Dispatch(targets => _rules.OnGauge(AlertKind.Memory, spark.Spark, "unified memory", 100.0 * memory.UsedBytes / memory.TotalBytes, time.GetUtcNow(), targets), stoppingToken);
                }
            }
        }
    }

    private async Task CheckDisksAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            if (settings.Current.Targets.Any(t => t.Hears(AlertKind.Disk)))
            {
                await Task.WhenAll(fleet.Current.Sparks.Select(spark => CheckDisksAsync(spark, stoppingToken))).ConfigureAwait(false);
            }

            await Task.Delay(options.CurrentValue.DiskCheckInterval, time, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task CheckDisksAsync(SparkEntry spark, CancellationToken stoppingToken)
    {
        try
        {
            var cache = await spark.Host.ExpandHomeAsync(spark.Definition.HfCachePath, stoppingToken).ConfigureAwait(false);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var path in new[] { "/", cache })
            {
                if (await spark.Host.GetDiskSpaceAsync(path, stoppingToken).ConfigureAwait(false) is { TotalBytes: > 0 } space && seen.Add(space.MountPoint))
                {
                    var used = 100.0 * (space.TotalBytes - space.AvailableBytes) / space.TotalBytes;
                    Dispatch(targets => _rules.OnGauge(AlertKind.Disk, spark.Name, space.MountPoint, used, time.GetUtcNow(), targets), stoppingToken);
                }
            }
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // An unreachable Spark is the health monitor's news; its disks are checked again next round.
            LogDiskCheckFailed(spark.Name, ex);
        }
    }

    private void Dispatch(Func<IReadOnlyList<AlertTarget>, IEnumerable<(AlertTarget Target, Alert Alert)>> rule, CancellationToken stoppingToken)
    {
        List<(AlertTarget Target, Alert Alert)> alerts;
        lock (_gate)
        {
            alerts = [.. rule(settings.Current.Targets)];
        }

        foreach (var (target, alert) in alerts)
        {
            _ = Task.Run(() => delivery.SendAsync(target, alert, stoppingToken), CancellationToken.None);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Checking the disks of {Spark} for alerts failed")]
    private partial void LogDiskCheckFailed(string spark, Exception ex);
}
