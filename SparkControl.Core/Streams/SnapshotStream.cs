using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace SparkControl.Core.Streams;

/// <summary>
/// Live state as an immutable snapshot plus a stream of updates. Every watcher gets its own channel, first receives
/// the current snapshot, then every later one; its channel is removed when its token is cancelled.
/// </summary>
/// <remarks>
/// A watcher that falls more than <see cref="WatcherBuffer"/> snapshots behind loses the oldest ones, never the newest:
/// a stalled browser tab must not hold memory or slow the publisher.
/// </remarks>
public sealed class SnapshotStream<T> where T : class
{
    public const int WatcherBuffer = 256;

    private readonly object _gate = new();
    private readonly List<Channel<Versioned<T>>> _watchers = [];
    private readonly TimeProvider _time;
    private Versioned<T> _current;

    public SnapshotStream(T initial, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _current = new Versioned<T>(0, initial, _time.GetUtcNow());
    }

    public Versioned<T> Current => Volatile.Read(ref _current);

    public int WatcherCount
    {
        get { lock (_gate) { return _watchers.Count; } }
    }

    /// <summary>Replaces the snapshot with <paramref name="update"/>(current). Returning the same instance publishes nothing.</summary>
    public Versioned<T> Publish(Func<T, T> update)
    {
        lock (_gate)
        {
            var next = update(_current.Value);
            if (ReferenceEquals(next, _current.Value))
            {
                return _current;
            }

            var published = new Versioned<T>(_current.Version + 1, next, _time.GetUtcNow());
            Volatile.Write(ref _current, published);
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(published);
            }

            return published;
        }
    }

    public Versioned<T> Publish(T next) => Publish(_ => next);

    public async IAsyncEnumerable<Versioned<T>> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<Versioned<T>>(new BoundedChannelOptions(WatcherBuffer)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        });

        // Subscribe and replay under the same lock as Publish, so no update can fall between the two.
        lock (_gate)
        {
            channel.Writer.TryWrite(_current);
            _watchers.Add(channel);
        }

        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
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
}
