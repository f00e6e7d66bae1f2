namespace SparkControl.Core.Audio.Echo;

/// <summary>Echo cancellation is busy: this many are running or waiting already; try again after the given time.</summary>
public sealed class EchoBusyException(int waiting, TimeSpan retryAfter)
    : InvalidOperationException($"{waiting} echo cancellations are running or waiting already (Audio:Echo:MaxQueued); try again in {Math.Ceiling(retryAfter.TotalSeconds):0} s.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// Echo cancellation runs one call at a time (each keeps a core busy for seconds), for the API and the Audio page
/// alike, with at most <c>Audio:Echo:MaxQueued</c> more waiting: past that a caller is told to come back (with a
/// time from the last run's duration) before its upload is read, so waiters cannot pile up uploads in memory.
/// </summary>
public sealed class EchoQueue(TimeProvider time)
{
    private readonly TimeProvider _time = time;
    private readonly SemaphoreSlim _running = new(1, 1);
    private int _admitted;
    private long _lastRunTicks = TimeSpan.FromSeconds(5).Ticks;

    /// <summary>A place in the queue, or <see cref="EchoBusyException"/> when it is full; dispose it when done.</summary>
    public Ticket Enter(int maxQueued)
    {
        var admitted = Interlocked.Increment(ref _admitted);
        if (admitted > maxQueued + 1)
        {
            Interlocked.Decrement(ref _admitted);
            var retry = TimeSpan.FromTicks(Volatile.Read(ref _lastRunTicks) * (admitted - 1));
            throw new EchoBusyException(admitted - 1, retry < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : retry);
        }

        return new Ticket(this);
    }

    public sealed class Ticket(EchoQueue queue) : IDisposable
    {
        private bool _disposed;

        /// <summary>Runs <paramref name="cancel"/> when it is this ticket's turn.</summary>
        public async Task<T> RunAsync<T>(Func<T> cancel, CancellationToken cancellationToken)
        {
            await queue._running.WaitAsync(cancellationToken).ConfigureAwait(false);
            var started = queue._time.GetTimestamp();
            try
            {
                return await Task.Run(cancel, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref queue._lastRunTicks, queue._time.GetElapsedTime(started).Ticks);
                queue._running.Release();
            }
        }

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                Interlocked.Decrement(ref queue._admitted);
            }
        }
    }
}
