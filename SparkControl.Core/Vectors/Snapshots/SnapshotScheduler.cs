using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SparkControl.Core.Vectors.Snapshots;

/// <summary>
/// Takes each Qdrant service's scheduled snapshots at their slots (the schedule's own clock, UTC). A slot missed while
/// the panel was down is not made up; a failed run is recorded (the dashboard shows it) and the next try is the next
/// slot. A saved schedule takes effect at once.
/// </summary>
public sealed partial class SnapshotScheduler(QdrantConnections connections, QdrantSnapshots snapshots, TimeProvider time, ILogger<SnapshotScheduler> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _due = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>When the service's next scheduled snapshot is due; null when it has no schedule on.</summary>
    public DateTimeOffset? NextRunAt(string service) => _due.TryGetValue(service, out var due) ? due : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        snapshots.ScheduleChanged += OnScheduleChanged;
        try
        {
            await snapshots.EndInterruptedAsync().ConfigureAwait(false);
            while (!stoppingToken.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                foreach (var service in connections.Services())
                {
                    var schedule = snapshots.ScheduleOf(service);
                    if (!schedule.Enabled)
                    {
                        _due.TryRemove(service.Key, out _);
                        continue;
                    }

                    var due = _due.GetOrAdd(service.Key, _ => schedule.Next(now) ?? DateTimeOffset.MaxValue);
                    if (due <= now)
                    {
                        await RunAsync(service, schedule.Scope, stoppingToken).ConfigureAwait(false);
                        _due[service.Key] = schedule.Next(time.GetUtcNow()) ?? DateTimeOffset.MaxValue;
                    }
                }

                var wait = _due.Values.DefaultIfEmpty(now + TimeSpan.FromMinutes(1)).Min() - time.GetUtcNow();
                using var sleep = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var woken = _wake.WaitAsync(sleep.Token);
                var slept = Task.Delay(wait < TimeSpan.Zero ? TimeSpan.Zero : wait > TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : wait, time, sleep.Token);
                await Task.WhenAny(woken, slept).ConfigureAwait(false);
                await sleep.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            snapshots.ScheduleChanged -= OnScheduleChanged;
        }
    }

    private async Task RunAsync(Sparks.ServiceDefinition service, string scope, CancellationToken stoppingToken)
    {
        try
        {
            var (_, done) = await snapshots.StartAsync(service, scope, "schedule", stoppingToken).ConfigureAwait(false);
            await done.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is QdrantCallException or KeyNotFoundException or Validation.ValidationFailedException)
        {
            // Qdrant did not answer when the slot came: nothing was started, so nothing is recorded but the log line.
            LogSlotMissed(service.Key, ex.Message);
        }
    }

    private void OnScheduleChanged(string service)
    {
        _due.TryRemove(service, out _);
        _wake.Release();
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The scheduled snapshot of {Service} could not start: {Reason}")]
    private partial void LogSlotMissed(string service, string reason);
}
