using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SparkControl.Core.Services;
using SparkControl.Core.Streams;
using SparkControl.Core.Swaps;

namespace SparkControl.Core.Operations;

public enum FleetEventKind
{
    Health,
    Swap,
}

/// <summary>
/// One change outside tools are told about: a service's health (<see cref="Health"/>) or a swap's status
/// (<see cref="Swap"/>), numbered in the order they happened.
/// </summary>
public sealed record FleetEvent(long Id, FleetEventKind Kind, DateTimeOffset At, ServiceHealth? Health = null, SwapStatus? Swap = null);

/// <summary>
/// Health changes and swap updates as one numbered sequence, for the event stream (<c>/api/events</c>) and alerts.
/// The last <see cref="OperationsOptions.EventBuffer"/> events are kept, so a client that reconnects with the last id
/// it saw gets exactly what it missed; one that comes back too late (or new, or after a panel restart) gets the
/// current state first. A health check that changes nothing but its time is not an event.
/// </summary>
public sealed class FleetEventFeed(HealthMonitor health, SwapOrchestrator swaps, IOptions<OperationsOptions> options, TimeProvider time) : BackgroundService
{
    private readonly object _gate = new();
    private readonly Queue<FleetEvent> _buffer = new();
    private readonly List<Channel<FleetEvent>> _watchers = [];
    private readonly int _capacity = options.Value.EventBuffer;
    private FleetHealth _health = FleetHealth.Empty;
    private SwapBoard _board = SwapBoard.Empty;
    private long _last;

    /// <summary>The id of the latest event (0 before the first).</summary>
    public long LastId
    {
        get { lock (_gate) { return _last; } }
    }

    /// <summary>
    /// Events after <paramref name="lastEventId"/> when the buffer still holds all of them; otherwise (null, unknown,
    /// too old) the current state as events carrying the latest id, so a reconnect from there misses nothing. Then every
    /// new event. A watcher that falls a whole buffer behind is ended: it reconnects and is brought up to date.
    /// </summary>
    public async IAsyncEnumerable<FleetEvent> WatchAsync(long? lastEventId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<FleetEvent>(new BoundedChannelOptions(_capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        List<FleetEvent> first;
        lock (_gate)
        {
            first = CanReplayAfter(lastEventId) ? [.. _buffer.Where(e => e.Id > lastEventId)] : CurrentState();
            _watchers.Add(channel);
        }

        try
        {
            foreach (var item in first)
            {
                yield return item;
            }

            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }
        }
    }

    /// <summary>True when two healths of one service differ in more than the time they were checked.</summary>
    public static bool Changed(ServiceHealth before, ServiceHealth after) =>
        before.Status != after.Status || before.Reason != after.Reason || before.Since != after.Since || before.Container != after.Container
        || before.ContainerStatus != after.ContainerStatus || before.Endpoint != after.Endpoint || before.IsModelServer != after.IsModelServer
        || !before.ServedModels.SequenceEqual(after.ServedModels, StringComparer.Ordinal);

    /// <summary>True when two boards hold the same services in the same order, differing at most in check times.</summary>
    public static bool SameServices(IReadOnlyList<ServiceHealth> before, IReadOnlyList<ServiceHealth> after) =>
        before.Count == after.Count && before.Zip(after).All(p => p.First.Key == p.Second.Key && !Changed(p.First, p.Second));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(
                FollowAsync(health.WatchAsync(stoppingToken), OnHealth),
                FollowAsync(swaps.WatchAsync(stoppingToken), OnBoard)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task FollowAsync<T>(IAsyncEnumerable<Versioned<T>> updates, Action<T> apply)
        where T : class
    {
        await foreach (var update in updates.ConfigureAwait(false))
        {
            lock (_gate)
            {
                apply(update.Value);
            }
        }
    }

    private void OnHealth(FleetHealth next)
    {
        var known = _health.Sparks.SelectMany(s => s.Services).ToDictionary(s => s.Key, StringComparer.OrdinalIgnoreCase);
        foreach (var service in next.Sparks.SelectMany(s => s.Services))
        {
            if (!known.TryGetValue(service.Key, out var before) || Changed(before, service))
            {
                Append(FleetEventKind.Health, health: service);
            }
        }

        _health = next;
    }

    private void OnBoard(SwapBoard next)
    {
        foreach (var swap in next.Latest)
        {
            if (!ReferenceEquals(_board.Find(swap.Id), swap))
            {
                Append(FleetEventKind.Swap, swap: swap);
            }
        }

        _board = next;
    }

    private void Append(FleetEventKind kind, ServiceHealth? health = null, SwapStatus? swap = null)
    {
        var item = new FleetEvent(++_last, kind, time.GetUtcNow(), health, swap);
        _buffer.Enqueue(item);
        while (_buffer.Count > _capacity)
        {
            _buffer.Dequeue();
        }

        foreach (var watcher in _watchers)
        {
            if (!watcher.Writer.TryWrite(item))
            {
                // A whole buffer behind: ending its stream makes it reconnect and catch up, rather than skip events.
                watcher.Writer.TryComplete();
            }
        }
    }

    private bool CanReplayAfter(long? lastEventId) =>
        lastEventId is { } after && after <= _last && (_buffer.Count == 0 ? after == _last : after >= _buffer.Peek().Id - 1);

    private List<FleetEvent> CurrentState()
    {
        var now = time.GetUtcNow();
        return
        [
            .. _health.Sparks.SelectMany(s => s.Services).Select(s => new FleetEvent(_last, FleetEventKind.Health, now, Health: s)),
            .. _board.Latest.Select(s => new FleetEvent(_last, FleetEventKind.Swap, now, Swap: s)),
        ];
    }
}
