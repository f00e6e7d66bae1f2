using System.Globalization;
using SparkControl.Core.Services;
using SparkControl.Core.Swaps;

namespace SparkControl.Core.Operations;

/// <summary>
/// One alert: a problem that began (<see cref="Firing"/>) or ended. <see cref="Key"/> names the thing it is about
/// (<c>service-down:spark/name</c>, <c>disk:spark:/</c>), so a receiver can pair the two.
/// </summary>
public sealed record Alert(AlertKind Kind, string Key, bool Firing, string Spark, string Title, string Message, DateTimeOffset At);

/// <summary>
/// Turns the fleet's changes into alerts: one when a problem begins and one when it ends, never one per health tick
/// or per sample. Pure and single-threaded (its caller serializes), so it is tested as a table.
/// </summary>
public sealed class AlertRules
{
    /// <summary>A gauge that fired ends only this many points below its threshold, so a value on the line does not flap.</summary>
    public const int Hysteresis = 2;

    /// <summary>Swap ids already alerted (a replayed event must not alert again); the oldest are forgotten.</summary>
    private const int RememberedSwaps = 256;

    private readonly HashSet<string> _firing = new(StringComparer.OrdinalIgnoreCase);
    private readonly Queue<string> _swapOrder = new();
    private readonly HashSet<string> _alertedSwaps = new(StringComparer.Ordinal);

    /// <summary>What the event means for each webhook: a service Down or Healthy again, a swap that failed.</summary>
    public IEnumerable<(AlertTarget Target, Alert Alert)> OnEvent(FleetEvent item, IReadOnlyList<AlertTarget> targets) => item switch
    {
        { Health: { } health } => OnHealth(health, item.At, targets),
        { Swap: { Phase: SwapPhase.Failed } swap } => OnSwapFailed(swap, item.At, targets),
        _ => [],
    };

    /// <summary>A gauge reading (percent used) of a disk or of unified memory, checked against each webhook's threshold.</summary>
    public IEnumerable<(AlertTarget Target, Alert Alert)> OnGauge(AlertKind kind, string spark, string subject, double percent, DateTimeOffset at, IReadOnlyList<AlertTarget> targets)
    {
        var key = $"{kind.ToYaml()}:{spark}:{subject}";
        var results = new List<(AlertTarget, Alert)>();
        foreach (var target in targets.Where(t => t.Hears(kind)))
        {
            var threshold = kind == AlertKind.Disk ? target.DiskPercent : target.MemoryPercent;
            var what = kind == AlertKind.Disk ? $"Disk {subject} on {spark}" : $"Unified memory on {spark}";
            var shown = percent.ToString("0.#", CultureInfo.InvariantCulture);
            if (percent > threshold && _firing.Add(StateKey(target, key)))
            {
                results.Add((target, new Alert(kind, key, true, spark, $"{what} is {shown}% full", $"{what} is {shown}% full, above the alert threshold of {threshold}%.", at)));
            }
            else if (percent < threshold - Hysteresis && _firing.Remove(StateKey(target, key)))
            {
                results.Add((target, new Alert(kind, key, false, spark, $"{what} is back to {shown}%", $"{what} is back to {shown}% full, below the alert threshold of {threshold}%.", at)));
            }
        }

        return results;
    }

    private List<(AlertTarget, Alert)> OnHealth(ServiceHealth health, DateTimeOffset at, IReadOnlyList<AlertTarget> targets)
    {
        var key = $"{AlertKind.ServiceDown.ToYaml()}:{health.Key}";
        var results = new List<(AlertTarget, Alert)>();
        foreach (var target in targets.Where(t => t.Hears(AlertKind.ServiceDown)))
        {
            if (health.Status == HealthStatus.Down && _firing.Add(StateKey(target, key)))
            {
                results.Add((target, new Alert(AlertKind.ServiceDown, key, true, health.Spark, $"{health.Key} is down", $"{health.Key} is down: {health.Reason}.", at)));
            }
            else if (health.Status == HealthStatus.Healthy && _firing.Remove(StateKey(target, key)))
            {
                results.Add((target, new Alert(AlertKind.ServiceDown, key, false, health.Spark, $"{health.Key} is healthy again", $"{health.Key} is healthy again: {health.Reason}.", at)));
            }
        }

        return results;
    }

    private List<(AlertTarget, Alert)> OnSwapFailed(SwapStatus swap, DateTimeOffset at, IReadOnlyList<AlertTarget> targets)
    {
        if (!_alertedSwaps.Add(swap.Id))
        {
            return [];
        }

        _swapOrder.Enqueue(swap.Id);
        if (_swapOrder.Count > RememberedSwaps)
        {
            _alertedSwaps.Remove(_swapOrder.Dequeue());
        }

        var model = swap.ModelId ?? "nothing (an unload)";
        var why = swap.Failure?.Message ?? swap.Message;
        var alert = new Alert(AlertKind.SwapFailed, $"{AlertKind.SwapFailed.ToYaml()}:{swap.Id}", true, swap.Target, $"Swap to {model} on {swap.Target} failed", $"The swap to {model} on {swap.Target} failed: {why}", at);
        return [.. targets.Where(t => t.Hears(AlertKind.SwapFailed)).Select(t => (t, alert))];
    }

    private static string StateKey(AlertTarget target, string key) => $"{target.Name}|{key}";
}
