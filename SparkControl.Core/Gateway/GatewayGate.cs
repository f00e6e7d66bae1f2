using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using SparkControl.Core.Streams;
using SparkControl.Core.Swaps;

namespace SparkControl.Core.Gateway;

/// <summary>The gateway's traffic per Spark: requests in flight, and requests waiting for a swap.</summary>
public sealed record GatewayTraffic(ImmutableDictionary<string, int> InFlight, int Queued)
{
    public static readonly GatewayTraffic Empty = new(ImmutableDictionary<string, int>.Empty.WithComparers(StringComparer.OrdinalIgnoreCase), 0);

    public int TotalInFlight => InFlight.Values.Sum();
}

/// <summary>Too many requests are waiting already.</summary>
public sealed class GatewayQueueFullException(string message) : InvalidOperationException(message)
{
    public GatewayQueueFullException(int limit)
        : this($"{limit} requests are already waiting for a swap to finish")
    {
    }
}

/// <summary>
/// The swap's drain interface as the gateway keeps it: requests going to a Spark are counted while in flight; a drain
/// closes the Spark (new requests wait) and waits until those in flight have finished, bounded by the swap's timeout;
/// the end of the swap opens it again and the waiting requests go on to whatever serves then.
/// </summary>
public sealed class GatewayGate : IDrainGate, IDisposable
{
    /// <summary>How often the traffic figures are published at most: per request would cost every request a snapshot.</summary>
    public static readonly TimeSpan PublishInterval = TimeSpan.FromMilliseconds(250);

    private readonly object _gate = new();
    private readonly Dictionary<string, SparkState> _sparks = new(StringComparer.OrdinalIgnoreCase);
    private readonly SnapshotStream<GatewayTraffic> _traffic;
    private readonly TimeProvider _time;
    private readonly ITimer _publisher;
    private int _inFlight;
    private int _queued;
    private long _queuedBytes;
    private bool _changed;

    public GatewayGate(TimeProvider time, Diagnostics.SparkControlMetrics? metrics = null)
    {
        _time = time;
        _traffic = new SnapshotStream<GatewayTraffic>(GatewayTraffic.Empty, time);
        _publisher = time.CreateTimer(_ => PublishIfChanged(), null, PublishInterval, PublishInterval);
        metrics?.ObserveGateway(() => (Volatile.Read(ref _inFlight), Volatile.Read(ref _queued)));
    }

    public Versioned<GatewayTraffic> Traffic => _traffic.Current;

    public IAsyncEnumerable<Versioned<GatewayTraffic>> WatchAsync(CancellationToken cancellationToken) => _traffic.WatchAsync(cancellationToken);

    /// <summary>Requests to <paramref name="spark"/> in flight now, and when the last one ended (null: none since start).</summary>
    public (int InFlight, DateTimeOffset? LastUsed) Usage(string spark)
    {
        lock (_gate)
        {
            return _sparks.TryGetValue(spark, out var state) ? (state.InFlight, state.LastUsed) : (0, null);
        }
    }

    /// <summary>
    /// Counts a request to <paramref name="spark"/> as in flight until the lease is disposed; while the Spark drains,
    /// waits for it to open (until <paramref name="cancellationToken"/> gives up).
    /// </summary>
    public async Task<IDisposable> EnterAsync(string spark, CancellationToken cancellationToken, int queueLimit = int.MaxValue)
    {
        while (true)
        {
            if (TryEnter(spark, out var lease, out var opened))
            {
                return lease;
            }

            await WaitQueuedAsync(opened, cancellationToken, queueLimit).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Enters at once if <paramref name="spark"/> is open (the common case, with no allocation for waiting); otherwise
    /// gives the task that completes when it opens again.
    /// </summary>
    public bool TryEnter(string spark, [NotNullWhen(true)] out IDisposable? lease, [NotNullWhen(false)] out Task? opened)
    {
        lock (_gate)
        {
            var state = State(spark);
            if (state.Open.Task.IsCompleted)
            {
                state.InFlight++;
                _inFlight++;
                Publish();
                lease = new Lease(this, spark);
                opened = null;
                return true;
            }

            lease = null;
            opened = state.Open.Task;
            return false;
        }
    }

    /// <summary>Waits, counted as queued, for <paramref name="task"/> (the end of a swap, the opening of a Spark).</summary>
    /// <param name="bytes">The size of the request body the waiting request holds.</param>
    /// <param name="maxBytes">The most body bytes all waiting requests may hold together.</param>
    public async Task WaitQueuedAsync(Task task, CancellationToken cancellationToken, int limit = int.MaxValue, long bytes = 0, long maxBytes = long.MaxValue)
    {
        lock (_gate)
        {
            if (_queued >= limit)
            {
                throw new GatewayQueueFullException(limit);
            }

            if (_queuedBytes + bytes > maxBytes)
            {
                throw new GatewayQueueFullException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"the requests already waiting for a swap hold {_queuedBytes} bytes, and this one's {bytes} would pass Gateway:MaxQueuedBytes ({maxBytes})"));
            }

            _queued++;
            _queuedBytes += bytes;
            Publish();
        }

        try
        {
            await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _queued--;
                _queuedBytes -= bytes;
                Publish();
            }
        }
    }

    public async Task<DrainResult> DrainAsync(IReadOnlyCollection<string> sparks, TimeSpan timeout, CancellationToken cancellationToken)
    {
        int inFlight;
        lock (_gate)
        {
            foreach (var spark in sparks)
            {
                var state = State(spark);
                if (state.Open.Task.IsCompleted)
                {
                    state.Open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }

            inFlight = sparks.Sum(s => State(s).InFlight);
        }

        var deadline = _time.GetTimestamp();
        while (true)
        {
            Task idle;
            TimeSpan left;
            lock (_gate)
            {
                var running = sparks.Sum(s => State(s).InFlight);
                left = timeout - _time.GetElapsedTime(deadline);
                if (running == 0 || left <= TimeSpan.Zero)
                {
                    return new DrainResult(inFlight, running);
                }

                // Signalled by the last request of a busy Spark to end; made only now, so requests do not make one each.
                idle = Task.WhenAny(sparks.Select(State).Where(s => s.InFlight > 0)
                    .Select(s => (s.Idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task));
            }

            try
            {
                await idle.WaitAsync(left, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Loop once more to report what still runs.
            }
        }
    }

    public void Release(IReadOnlyCollection<string> sparks)
    {
        lock (_gate)
        {
            foreach (var spark in sparks)
            {
                State(spark).Open.TrySetResult();
            }
        }
    }

    private void Leave(string spark)
    {
        lock (_gate)
        {
            var state = State(spark);
            state.InFlight--;
            _inFlight--;
            state.LastUsed = _time.GetUtcNow();
            if (state.InFlight == 0 && state.Idle is { } idle)
            {
                idle.TrySetResult();
                state.Idle = null;
            }

            Publish();
        }
    }

    private SparkState State(string spark)
    {
        if (!_sparks.TryGetValue(spark, out var state))
        {
            state = new SparkState();
            state.Open.TrySetResult();
            _sparks[spark] = state;
        }

        return state;
    }

    /// <summary>Called under the lock: the figures changed and go out with the next tick.</summary>
    private void Publish() => _changed = true;

    private void PublishIfChanged()
    {
        lock (_gate)
        {
            if (!_changed)
            {
                return;
            }

            _changed = false;
            _traffic.Publish(new GatewayTraffic(_sparks.ToImmutableDictionary(s => s.Key, s => s.Value.InFlight, StringComparer.OrdinalIgnoreCase), _queued));
        }
    }

    public void Dispose() => _publisher.Dispose();

    private sealed class SparkState
    {
        public int InFlight { get; set; }

        /// <summary>When the last request ended: what idle unloads measure from.</summary>
        public DateTimeOffset? LastUsed { get; set; }

        public TaskCompletionSource Open { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Completed when the last request in flight ends; made only while a drain waits for it.</summary>
        public TaskCompletionSource? Idle { get; set; }
    }

    private sealed class Lease(GatewayGate gate, string spark) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                gate.Leave(spark);
            }
        }
    }
}
