using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace SparkControl.Core.Hosts;

/// <summary>
/// One live log follower per container on a Spark, shared by every viewer of that container. A stream holds one of
/// the Spark's few SSH channels for as long as it runs; with one follower per viewer, a handful of open log pages took
/// every channel from health checks and swaps. Here a viewer costs a short command for its own tail, and the container
/// one stream however many watch it; the stream stops when its last viewer leaves.
/// </summary>
/// <remarks>
/// Both the tail and the live lines are timestamped by the daemon (<c>docker logs --timestamps</c>, fixed-width RFC 3339
/// with nanoseconds), which is how the seam between them is found: a viewer shows its tail, then only live lines
/// written after the tail's last line. The follower starts with <see cref="Backlog"/> recent lines, so a line written
/// between a viewer's tail and the moment a new follower attached is not lost.
/// </remarks>
public sealed class ContainerLogFeeds : IAsyncDisposable
{
    /// <summary>Recent lines a new follower starts with, covering the time it takes to attach.</summary>
    public const int Backlog = 1000;

    private readonly Func<string, CancellationToken, IAsyncEnumerable<string>> _follow;
    private readonly Func<string, int, CancellationToken, Task<IReadOnlyList<string>>> _tail;
    private readonly int _viewerBuffer;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Feed> _feeds = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <param name="follow">Timestamped lines of a container as they are written, starting with its last <see cref="Backlog"/> ones.</param>
    /// <param name="tail">The last N timestamped lines of a container.</param>
    /// <param name="viewerBuffer">Lines held for a viewer that reads slower than the container writes; older ones are dropped (and counted).</param>
    public ContainerLogFeeds(
        Func<string, CancellationToken, IAsyncEnumerable<string>> follow,
        Func<string, int, CancellationToken, Task<IReadOnlyList<string>>> tail,
        int viewerBuffer = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(viewerBuffer, 1);
        _follow = follow;
        _tail = tail;
        _viewerBuffer = viewerBuffer;
    }

    /// <summary>How many containers are followed now (one stream each).</summary>
    public int Followed
    {
        get
        {
            lock (_gate)
            {
                return _feeds.Count;
            }
        }
    }

    /// <summary>
    /// The container's last <paramref name="tail"/> lines, then every line it writes until the viewer cancels or the
    /// log ends (the container stopped). A failure of the shared follower reaches every viewer of it.
    /// </summary>
    public async IAsyncEnumerable<string> WatchAsync(string container, int tail, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tail);
        var viewer = new Viewer(_viewerBuffer);
        var feed = Join(container, viewer);
        try
        {
            // Joined first, then the tail: live lines written meanwhile wait in the viewer's buffer, none fall between.
            // One line is fetched even for tail 0: its timestamp is where the live lines start.
            var recent = await _tail(container, Math.Max(tail, 1), cancellationToken).ConfigureAwait(false);
            var seam = Seam.After(recent);
            foreach (var line in recent.Skip(Math.Max(recent.Count - tail, 0)))
            {
                yield return Timestamped.Split(line).Text;
            }

            await foreach (var line in viewer.Lines.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (viewer.TakeDropped() is > 0 and var dropped)
                {
                    yield return $"… {dropped:N0} lines were left out here: this viewer read more slowly than the container wrote";
                }

                var (stamp, text) = Timestamped.Split(line);
                if (seam.Shows(stamp, text))
                {
                    yield return text;
                }
            }
        }
        finally
        {
            await LeaveAsync(container, feed, viewer).ConfigureAwait(false);
        }
    }

    private Feed Join(string container, Viewer viewer)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_feeds.TryGetValue(container, out var feed) || feed.Ended)
            {
                feed = new Feed(container);
                _feeds[container] = feed;
                feed.Viewers.Add(viewer);
                feed.Pump = Task.Run(() => PumpAsync(feed), CancellationToken.None);
                return feed;
            }

            feed.Viewers.Add(viewer);
            return feed;
        }
    }

    private async Task LeaveAsync(string container, Feed feed, Viewer viewer)
    {
        bool last;
        lock (_gate)
        {
            feed.Viewers.Remove(viewer);
            last = feed.Viewers.Count == 0;
            if (last && _feeds.TryGetValue(container, out var current) && current == feed)
            {
                _feeds.Remove(container);
            }
        }

        if (last)
        {
            await feed.StopAsync().ConfigureAwait(false);
        }
    }

    private async Task PumpAsync(Feed feed)
    {
        Exception? failure = null;
        try
        {
            await foreach (var line in _follow(feed.Container, feed.Stop.Token).ConfigureAwait(false))
            {
                lock (_gate)
                {
                    foreach (var viewer in feed.Viewers)
                    {
                        viewer.Offer(line);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (feed.Stop.IsCancellationRequested)
        {
            // The last viewer left.
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        lock (_gate)
        {
            feed.Ended = true;
            if (_feeds.TryGetValue(feed.Container, out var current) && current == feed)
            {
                _feeds.Remove(feed.Container);
            }

            foreach (var viewer in feed.Viewers)
            {
                viewer.End(failure);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Feed[] feeds;
        lock (_gate)
        {
            _disposed = true;
            feeds = [.. _feeds.Values];
            _feeds.Clear();
        }

        foreach (var feed in feeds)
        {
            await feed.StopAsync().ConfigureAwait(false);
        }
    }

    private sealed class Feed(string container)
    {
        private int _stopped;

        public string Container { get; } = container;
        public List<Viewer> Viewers { get; } = [];
        public CancellationTokenSource Stop { get; } = new();
        public Task Pump { get; set; } = Task.CompletedTask;
        public bool Ended { get; set; }

        /// <summary>Stops the follower (the last viewer left, or the host goes away); safe to call twice.</summary>
        public async Task StopAsync()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 0)
            {
                await Stop.CancelAsync().ConfigureAwait(false);
            }

            await Pump.ConfigureAwait(false);
        }
    }

    private sealed class Viewer
    {
        private readonly Channel<string> _lines;
        private long _dropped;

        public Viewer(int capacity) =>
            _lines = Channel.CreateBounded<string>(
                new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
                _ => Interlocked.Increment(ref _dropped));

        public ChannelReader<string> Lines => _lines.Reader;

        public void Offer(string line) => _lines.Writer.TryWrite(line);

        public void End(Exception? failure) => _lines.Writer.TryComplete(failure);

        public long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);
    }

    /// <summary>Where a viewer's tail ends: live lines up to and including its last line were shown already.</summary>
    private sealed class Seam
    {
        private readonly string? _last;
        private readonly List<string> _sameStamp;

        private Seam(string? last, List<string> sameStamp)
        {
            _last = last;
            _sameStamp = sameStamp;
        }

        public static Seam After(IReadOnlyList<string> tail)
        {
            var stamps = tail.Select(Timestamped.Split).Where(l => l.Stamp.Length > 0).ToList();
            if (stamps.Count == 0)
            {
                return new Seam(null, []);
            }

            var last = stamps[^1].Stamp;
            return new Seam(last, [.. stamps.Where(l => l.Stamp == last).Select(l => l.Text)]);
        }

        /// <summary>
        /// A line without a timestamp (the docker CLI's own message) always shows; one older than the tail's end never;
        /// one with the very same timestamp as the tail's last lines only if it is not one of them.
        /// </summary>
        public bool Shows(string stamp, string text)
        {
            if (_last is null || stamp.Length == 0)
            {
                return true;
            }

            var order = string.CompareOrdinal(stamp, _last);
            return order > 0 || (order == 0 && !_sameStamp.Remove(text));
        }
    }
}

/// <summary>A <c>docker logs --timestamps</c> line: the daemon's fixed-width RFC 3339 time, a space, the text.</summary>
public static class Timestamped
{
    /// <summary>The timestamp and the text; a line that does not start with one is all text (the stamp is empty).</summary>
    public static (string Stamp, string Text) Split(string line)
    {
        // 2026-12-02T06:10:00.123456789Z: 30 characters, digits where digits go.
        const int Length = 30;
        if (line.Length >= Length && (line.Length == Length || line[Length] == ' ') && line[4] == '-' && line[10] == 'T'
            && line[Length - 1] == 'Z' && char.IsAsciiDigit(line[0]) && char.IsAsciiDigit(line[Length - 2]))
        {
            return (line[..Length], line.Length == Length ? string.Empty : line[(Length + 1)..]);
        }

        return (string.Empty, line);
    }
}
