using System.Collections.Immutable;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Gateway;

/// <summary>One audio worker's load as the gateway counts it.</summary>
public sealed record AudioWorkerLoad(string Spark, string Service, int InFlight, int Cap, int Queued, long Served, long Rejected, long Refused, double? RecentLatencySeconds)
{
    public string Key => $"{Spark}/{Service}";
}

/// <summary>The loads of every audio worker the gateway has sent to or refused for, by key.</summary>
public sealed record AudioLoads(ImmutableDictionary<string, AudioWorkerLoad> ByWorker)
{
    public static readonly AudioLoads Empty = new(ImmutableDictionary<string, AudioWorkerLoad>.Empty.WithComparers(StringComparer.OrdinalIgnoreCase));
}

/// <summary>An audio request cannot get a worker slot; <see cref="RetryAfter"/> is what the client should wait.</summary>
public sealed class AudioCapacityException(string message, TimeSpan retryAfter) : InvalidOperationException(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>How a request on a worker ended, for its figures and its health.</summary>
public enum AudioOutcome
{
    /// <summary>The worker answered (whatever the status): its time counts as service time.</summary>
    Answered,

    /// <summary>
    /// The worker refused the connection, or closed it before it had the whole request: it cannot have processed the
    /// request, and takes no more until health sees it again.
    /// </summary>
    Refused,

    /// <summary>Anything else (the client left, the connection broke mid-request).</summary>
    Failed,
}

/// <summary>A slot on one worker, held while the request is there; dispose it once the request has ended.</summary>
public sealed class AudioSlot : IDisposable
{
    private readonly AudioCapacity _owner;
    private int _done;

    internal AudioSlot(AudioCapacity owner, AudioWorker worker, long assignedAt)
    {
        _owner = owner;
        Worker = worker;
        AssignedAt = assignedAt;
    }

    public AudioWorker Worker { get; }

    internal long AssignedAt { get; }

    /// <summary>Ends the request on the worker with <paramref name="outcome"/> (the first call counts; disposing counts as Failed).</summary>
    public void Complete(AudioOutcome outcome)
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            _owner.Release(this, outcome);
        }
    }

    public void Dispose() => Complete(AudioOutcome.Failed);
}

/// <summary>
/// Per-worker in-flight caps with one first-come-first-served queue in front of them. A request takes a slot on the
/// usable worker with the fewest requests in flight (then the fewest taken so far); when every usable worker is full
/// it waits in the queue, which holds at most <c>queuePerWorker</c> × usable workers requests per set of workers, and
/// gets a slot as one frees, in arrival order. Past the queue (or its wait) the caller answers 503 with
/// <see cref="AudioCapacityException.RetryAfter"/> from the workers' measured service time. A worker whose connection
/// was refused is skipped until a health check after the refusal sees it Healthy.
/// </summary>
public sealed class AudioCapacity : IDisposable
{
    /// <summary>How often the figures are published at most.</summary>
    public static readonly TimeSpan PublishInterval = TimeSpan.FromMilliseconds(250);

    private const int RecentLatencies = 20;

    private readonly object _gate = new();
    private readonly Dictionary<string, WorkerState> _workers = new(StringComparer.OrdinalIgnoreCase);
    private readonly LinkedList<Waiter> _queue = new();
    private readonly TimeProvider _time;
    private readonly SparkControlMetrics? _metrics;
    private readonly SnapshotStream<AudioLoads> _loads;
    private readonly ITimer _publisher;
    private bool _changed;

    public AudioCapacity(TimeProvider time, SparkControlMetrics? metrics = null)
    {
        _time = time;
        _metrics = metrics;
        _loads = new SnapshotStream<AudioLoads>(AudioLoads.Empty, time);
        _publisher = time.CreateTimer(_ => PublishIfChanged(), null, PublishInterval, PublishInterval);
        metrics?.ObserveAudio(Readings);
    }

    public Versioned<AudioLoads> Loads => _loads.Current;

    public IAsyncEnumerable<Versioned<AudioLoads>> WatchAsync(CancellationToken cancellationToken) => _loads.WatchAsync(cancellationToken);

    /// <summary>The figures now (not waiting for the next publish).</summary>
    public AudioLoads Now()
    {
        lock (_gate)
        {
            return Snapshot();
        }
    }

    /// <summary>
    /// A slot on one of <paramref name="candidates"/> (the workers answering to the requested name), now or after
    /// waiting in the queue up to <paramref name="maxWait"/>.
    /// </summary>
    /// <exception cref="AudioCapacityException">No worker is usable, the queue is full, or the wait ran out.</exception>
    public async Task<AudioSlot> AcquireAsync(IReadOnlyList<AudioWorker> candidates, int queuePerWorker, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_gate)
        {
            Refresh(candidates);
            Dispatch();
            var usable = Usable(candidates);
            if (usable.Count == 0)
            {
                throw new AudioCapacityException(NoWorker(candidates), TimeSpan.FromSeconds(5));
            }

            if (Pick(usable) is { } free)
            {
                return Assign(free);
            }

            var pool = PoolOf(candidates);
            var queued = _queue.Count(w => w.Pool == pool);
            if (queued >= queuePerWorker * usable.Count)
            {
                foreach (var worker in usable)
                {
                    _workers[worker.Key].Rejected++;
                }

                _changed = true;
                throw new AudioCapacityException(
                    $"every worker for this model is busy ({string.Join(", ", usable.Select(w => $"{w.Key} {_workers[w.Key].InFlight}/{_workers[w.Key].Cap}"))}) and {queued} requests are waiting already",
                    RetryAfter(usable, queued));
            }

            waiter = new Waiter(pool, candidates);
            waiter.Node = _queue.AddLast(waiter);
            _changed = true;
        }

        return await WaitAsync(waiter, maxWait, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A queued request's wait for its slot, until the wait runs out or the client leaves.</summary>
    private async Task<AudioSlot> WaitAsync(Waiter waiter, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(maxWait, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            return await waiter.Slot.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                if (waiter.Node!.List is not null)
                {
                    _queue.Remove(waiter.Node);
                    _changed = true;
                }
                else
                {
                    // Assigned in the same moment it gave up: give the slot back.
                    waiter.Assigned!.Complete(AudioOutcome.Failed);
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            lock (_gate)
            {
                var usable = Usable(waiter.Candidates);
                throw new AudioCapacityException($"no worker for this model had a free slot within {maxWait.TotalSeconds:0.#} s (Gateway:AudioQueueWait)",
                    RetryAfter(usable, _queue.Count(w => w.Pool == waiter.Pool)));
            }
        }
    }

    internal void Release(AudioSlot slot, AudioOutcome outcome)
    {
        lock (_gate)
        {
            var state = _workers[slot.Worker.Key];
            state.InFlight--;
            switch (outcome)
            {
                case AudioOutcome.Answered:
                    var seconds = _time.GetElapsedTime(slot.AssignedAt).TotalSeconds;
                    state.Served++;
                    state.Record(seconds);
                    _metrics?.RecordAudioRequest(slot.Worker.Spark, slot.Worker.Service, seconds);
                    break;
                case AudioOutcome.Refused:
                    state.RefusedAt = _time.GetUtcNow();
                    state.Refused++;
                    break;
            }

            _changed = true;
            Dispatch();
        }
    }

    /// <summary>Hands free slots to the queue in arrival order. Called under the lock.</summary>
    private void Dispatch()
    {
        for (var node = _queue.First; node is not null;)
        {
            var next = node.Next;
            if (Pick(Usable(node.Value.Candidates)) is { } free)
            {
                _queue.Remove(node);
                node.Value.Assigned = Assign(free);
                node.Value.Slot.TrySetResult(node.Value.Assigned);
            }

            node = next;
        }
    }

    private AudioSlot Assign(AudioWorker worker)
    {
        var state = _workers[worker.Key];
        state.InFlight++;
        state.Assigned++;
        _changed = true;
        return new AudioSlot(this, worker, _time.GetTimestamp());
    }

    private void Refresh(IReadOnlyList<AudioWorker> candidates)
    {
        foreach (var worker in candidates)
        {
            if (!_workers.TryGetValue(worker.Key, out var state))
            {
                _workers[worker.Key] = state = new WorkerState(worker.Spark, worker.Service);
            }

            state.Cap = worker.MaxInFlight;
            state.Healthy = worker.Healthy;
            if (state.RefusedAt is { } refused && worker.Healthy && worker.CheckedAt > refused)
            {
                state.RefusedAt = null;
            }
        }
    }

    private List<AudioWorker> Usable(IReadOnlyList<AudioWorker> candidates) =>
        [.. candidates.Where(w => _workers.TryGetValue(w.Key, out var state) && state.Healthy && state.RefusedAt is null)];

    private AudioWorker? Pick(List<AudioWorker> usable) => usable
        .Where(w => _workers[w.Key].InFlight < _workers[w.Key].Cap)
        .OrderBy(w => _workers[w.Key].InFlight)
        .ThenBy(w => _workers[w.Key].Assigned)
        .FirstOrDefault();

    /// <summary>The measured time one slot takes, times the rounds of slots the queue ahead needs.</summary>
    private TimeSpan RetryAfter(List<AudioWorker> usable, int queued)
    {
        var capacity = Math.Max(1, usable.Sum(w => _workers[w.Key].Cap));
        var measured = usable.Select(w => _workers[w.Key].ServiceSeconds).OfType<double>().DefaultIfEmpty(1).Average();
        var seconds = measured * Math.Ceiling((queued + 1.0) / capacity);
        return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(seconds), 1, 600));
    }

    private string NoWorker(IReadOnlyList<AudioWorker> candidates) =>
        $"no worker for this model is healthy now ({string.Join(", ", candidates.Select(w => $"{w.Key}: {(_workers[w.Key].RefusedAt is not null ? "refused a connection" : "not Healthy")}"))})";

    /// <summary>The requests waiting for one set of workers share one bound.</summary>
    private static string PoolOf(IReadOnlyList<AudioWorker> candidates) => string.Join('|', candidates.Select(w => w.Key).Order(StringComparer.OrdinalIgnoreCase));

    private AudioLoads Snapshot() => new(_workers.ToImmutableDictionary(
        p => p.Key,
        p => new AudioWorkerLoad(p.Value.Spark, p.Value.Service, p.Value.InFlight, p.Value.Cap, _queue.Count(w => w.Candidates.Any(c => string.Equals(c.Key, p.Key, StringComparison.OrdinalIgnoreCase))),
            p.Value.Served, p.Value.Rejected, p.Value.Refused, p.Value.RecentMedian()),
        StringComparer.OrdinalIgnoreCase));

    private IEnumerable<SparkControlMetrics.AudioWorkerReading> Readings()
    {
        lock (_gate)
        {
            return [.. Snapshot().ByWorker.Values.Select(l => new SparkControlMetrics.AudioWorkerReading(l.Spark, l.Service, l.InFlight, l.Queued, l.Rejected))];
        }
    }

    private void PublishIfChanged()
    {
        lock (_gate)
        {
            if (!_changed)
            {
                return;
            }

            _changed = false;
            _loads.Publish(Snapshot());
        }
    }

    public void Dispose() => _publisher.Dispose();

    private sealed class Waiter(string pool, IReadOnlyList<AudioWorker> candidates)
    {
        public string Pool { get; } = pool;
        public IReadOnlyList<AudioWorker> Candidates { get; } = candidates;
        public TaskCompletionSource<AudioSlot> Slot { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The slot handed over (under the lock): what a waiter that gives up at that moment returns.</summary>
        public AudioSlot? Assigned { get; set; }

        public LinkedListNode<Waiter>? Node { get; set; }
    }

    private sealed class WorkerState(string spark, string service)
    {
        private readonly Queue<double> _recent = new();

        public string Spark { get; } = spark;
        public string Service { get; } = service;
        public int InFlight { get; set; }
        public int Cap { get; set; } = 1;
        public bool Healthy { get; set; }
        public long Assigned { get; set; }
        public long Served { get; set; }
        public long Rejected { get; set; }
        public long Refused { get; set; }
        public DateTimeOffset? RefusedAt { get; set; }

        /// <summary>A moving average of the time a request holds a slot (what Retry-After is made of).</summary>
        public double? ServiceSeconds { get; private set; }

        public void Record(double seconds)
        {
            ServiceSeconds = ServiceSeconds is { } mean ? (0.8 * mean) + (0.2 * seconds) : seconds;
            _recent.Enqueue(seconds);
            if (_recent.Count > RecentLatencies)
            {
                _recent.Dequeue();
            }
        }

        public double? RecentMedian()
        {
            if (_recent.Count == 0)
            {
                return null;
            }

            var sorted = _recent.Order().ToArray();
            return sorted[sorted.Length / 2];
        }
    }
}
