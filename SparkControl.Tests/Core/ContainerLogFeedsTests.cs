using System.Threading.Channels;
using SparkControl.Core.Hosts;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Remote;

namespace SparkControl.Tests.Core;

/// <summary>
/// The shared log follower against a scripted container log: what each viewer sees, how many followers run, and the
/// seam between a viewer's tail and the live lines.
/// </summary>
public sealed class ContainerLogFeedsTests : IAsyncLifetime
{
    private readonly List<string> _log = [];
    private readonly List<Follower> _followers = [];
    private int _tails;
    private readonly ContainerLogFeeds _feeds;

    public ContainerLogFeedsTests() => _feeds = Create(viewerBuffer: 4096);

    private ContainerLogFeeds Create(int viewerBuffer) => new(Follow, Tail, viewerBuffer);

    private static string At(int second) => $"2026-12-02T06:10:{second:00}.000000000Z";

    /// <summary>The container writes a line: it is in the log (for tails) and reaches every running follower.</summary>
    private void Write(int second, string text)
    {
        var line = $"{At(second)} {text}";
        lock (_log)
        {
            _log.Add(line);
            foreach (var follower in _followers.Where(f => !f.Ended))
            {
                follower.Lines.Writer.TryWrite(line);
            }
        }
    }

    private async IAsyncEnumerable<string> Follow(string container, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var follower = new Follower(container);
        lock (_log)
        {
            // Like docker logs --follow --tail N: the recent lines first, then what is written.
            foreach (var line in _log.TakeLast(ContainerLogFeeds.Backlog))
            {
                follower.Lines.Writer.TryWrite(line);
            }

            _followers.Add(follower);
        }

        try
        {
            await foreach (var line in follower.Lines.Reader.ReadAllAsync(cancellationToken))
            {
                yield return line;
            }
        }
        finally
        {
            follower.Ended = true;
        }
    }

    private Task<IReadOnlyList<string>> Tail(string container, int tail, CancellationToken cancellationToken)
    {
        lock (_log)
        {
            _tails++;
            return Task.FromResult<IReadOnlyList<string>>([.. _log.TakeLast(tail)]);
        }
    }

    private int Running
    {
        get
        {
            lock (_log)
            {
                return _followers.Count(f => !f.Ended);
            }
        }
    }

    /// <summary>Reads a viewer in the background, keeping what it has seen.</summary>
    private sealed class Reader
    {
        private readonly List<string> _seen = [];

        public Reader(IAsyncEnumerable<string> lines, CancellationToken cancellationToken) =>
            Completion = Task.Run(async () =>
            {
                await foreach (var line in lines.WithCancellation(cancellationToken))
                {
                    lock (_seen)
                    {
                        _seen.Add(line);
                    }
                }
            }, CancellationToken.None);

        public Task Completion { get; }

        public List<string> Seen
        {
            get
            {
                lock (_seen)
                {
                    return [.. _seen];
                }
            }
        }

        public Task SeenAsync(string line) => Wait.UntilAsync(() => Seen.Contains(line), $"the viewer sees '{line}' (it saw: {string.Join(" | ", Seen)})", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task TwoViewers_ShareOneFollower_EachGetsItsOwnTail_AndTheFollowerStopsWhenTheLastLeaves()
    {
        for (var i = 1; i <= 5; i++)
        {
            Write(i, $"old {i}");
        }

        using var firstStop = new CancellationTokenSource();
        using var secondStop = new CancellationTokenSource();
        var first = new Reader(_feeds.WatchAsync("llm", 2, firstStop.Token), firstStop.Token);
        await first.SeenAsync("old 5");
        var second = new Reader(_feeds.WatchAsync("llm", 3, secondStop.Token), secondStop.Token);
        await second.SeenAsync("old 5");
        Write(6, "new 6");
        await first.SeenAsync("new 6");
        await second.SeenAsync("new 6");
        var runningWithTwo = Running;

        await firstStop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Completion);
        Write(7, "new 7");
        await second.SeenAsync("new 7");
        var runningWithOne = Running;
        await secondStop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Completion);
        await Wait.UntilAsync(() => Running == 0 && _feeds.Followed == 0, "the follower stops with its last viewer", TimeSpan.FromSeconds(30));

        Assert.Equal(1, runningWithTwo);
        Assert.Equal(1, runningWithOne);
        Assert.Equal(["old 4", "old 5", "new 6"], first.Seen);
        Assert.Equal(["old 3", "old 4", "old 5", "new 6", "new 7"], second.Seen);
        Assert.Single(_followers);
    }

    [Fact]
    public async Task Seam_LinesOfTheTailAreNotRepeated_ALineWithTheSameTimeAsTheTailsLastShowsOnce()
    {
        // The follower's backlog holds the tail's lines again; two lines share the second 3 and one more comes in it later.
        Write(1, "a");
        Write(2, "b");
        Write(3, "c");
        Write(3, "c");
        using var stop = new CancellationTokenSource();

        var viewer = new Reader(_feeds.WatchAsync("llm", 2, stop.Token), stop.Token);
        await viewer.SeenAsync("c");
        Write(3, "c");
        Write(3, "d");
        Write(4, "e");
        await viewer.SeenAsync("e");
        await stop.CancelAsync();

        Assert.Equal(["c", "c", "c", "d", "e"], viewer.Seen);
    }

    [Fact]
    public async Task TailZero_ShowsOnlyLinesWrittenAfterwards_AndLinesWithoutATimestampAlwaysShow()
    {
        Write(1, "before");
        using var stop = new CancellationTokenSource();

        var viewer = new Reader(_feeds.WatchAsync("llm", 0, stop.Token), stop.Token);
        await Wait.UntilAsync(() => Running == 1 && Volatile.Read(ref _tails) == 1, "the follower runs and the viewer has its tail", TimeSpan.FromSeconds(30));
        lock (_log)
        {
            _followers[0].Lines.Writer.TryWrite("Error response from daemon: a message of the CLI itself");
        }

        Write(2, "after");
        await viewer.SeenAsync("after");
        await stop.CancelAsync();

        Assert.Equal(["Error response from daemon: a message of the CLI itself", "after"], viewer.Seen);
    }

    [Fact]
    public async Task LogEnds_EveryViewerEnds_AndTheNextViewerStartsANewFollower()
    {
        Write(1, "serving");
        var first = new Reader(_feeds.WatchAsync("llm", 10, CancellationToken.None), CancellationToken.None);
        var second = new Reader(_feeds.WatchAsync("llm", 10, CancellationToken.None), CancellationToken.None);
        await first.SeenAsync("serving");
        await second.SeenAsync("serving");
        // "serving" may come from the tail read before the follower starts: end the follower once there is one.
        await Wait.UntilAsync(() =>
        {
            lock (_log)
            {
                return Task.FromResult(_followers.Count > 0);
            }
        }, "the follower has started");

        // The container stopped: docker logs --follow ends.
        lock (_log)
        {
            _followers[0].Lines.Writer.TryComplete();
        }

        await first.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        await second.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Write(2, "started again");
        using var stop = new CancellationTokenSource();
        var third = new Reader(_feeds.WatchAsync("llm", 1, stop.Token), stop.Token);
        await third.SeenAsync("started again");
        Write(3, "live again");
        await third.SeenAsync("live again");
        await stop.CancelAsync();

        Assert.Equal(2, _followers.Count);
        Assert.Equal(["started again", "live again"], third.Seen);
    }

    [Fact]
    public async Task FollowerFails_EveryViewerGetsTheError_AndTheNextViewerTriesAgain()
    {
        Write(1, "serving");
        var first = new Reader(_feeds.WatchAsync("llm", 1, CancellationToken.None), CancellationToken.None);
        var second = new Reader(_feeds.WatchAsync("llm", 1, CancellationToken.None), CancellationToken.None);
        await first.SeenAsync("serving");
        await second.SeenAsync("serving");

        lock (_log)
        {
            _followers[0].Lines.Writer.TryComplete(new SparkUnreachableException("spark-1", "the connection to spark-1 dropped"));
        }

        var firstError = await Assert.ThrowsAsync<SparkUnreachableException>(() => first.Completion);
        var secondError = await Assert.ThrowsAsync<SparkUnreachableException>(() => second.Completion);
        using var stop = new CancellationTokenSource();
        var third = new Reader(_feeds.WatchAsync("llm", 1, stop.Token), stop.Token);
        await Wait.UntilAsync(() => Running == 1, "a new follower runs", TimeSpan.FromSeconds(30));
        Write(2, "back");
        await third.SeenAsync("back");
        await stop.CancelAsync();

        Assert.Equal("the connection to spark-1 dropped", firstError.Message);
        Assert.Same(firstError, secondError);
        Assert.Equal(2, _followers.Count);
    }

    [Fact]
    public async Task SlowViewer_KeepsTheNewestLines_AndIsToldHowManyWereLeftOut()
    {
        await using var feeds = Create(viewerBuffer: 3);
        Write(1, "tail");
        using var stop = new CancellationTokenSource();
        var lines = feeds.WatchAsync("llm", 1, stop.Token).GetAsyncEnumerator(stop.Token);

        // The viewer takes its tail, then does not read while ten lines arrive. The follower's backlog repeats the
        // tail's line, which counts among those left out.
        Assert.True(await lines.MoveNextAsync());
        var tail = lines.Current;
        await Wait.UntilAsync(() => Running == 1, "the follower runs", TimeSpan.FromSeconds(30));
        for (var i = 2; i <= 11; i++)
        {
            Write(i, $"line {i}");
        }

        await Wait.UntilAsync(() => _followers[0].Lines.Reader.Count == 0, "the follower has handed every line over", TimeSpan.FromSeconds(30));
        var after = new List<string>();
        while (after.Count < 4 && await lines.MoveNextAsync())
        {
            after.Add(lines.Current);
        }

        await stop.CancelAsync();
        await lines.DisposeAsync();

        Assert.Equal("tail", tail);
        Assert.Equal(["… 8 lines were left out here: this viewer read more slowly than the container wrote", "line 9", "line 10", "line 11"], after);
    }

    [Theory]
    [InlineData("2026-12-02T06:10:00.123456789Z hello", "2026-12-02T06:10:00.123456789Z", "hello")]
    [InlineData("2026-12-02T06:10:00.123456789Z ", "2026-12-02T06:10:00.123456789Z", "")]
    [InlineData("2026-12-02T06:10:00.123456789Z", "2026-12-02T06:10:00.123456789Z", "")]
    [InlineData("2026-12-02T06:10:00.123456789Z  two spaces", "2026-12-02T06:10:00.123456789Z", " two spaces")]
    [InlineData("2026-12-02T06:10:00.123456789Zx", "", "2026-12-02T06:10:00.123456789Zx")]
    [InlineData("2026-12-02 06:10:00.123456789Z text", "", "2026-12-02 06:10:00.123456789Z text")]
    [InlineData("INFO 12-02 06:10:00 [api_server.py] started", "", "INFO 12-02 06:10:00 [api_server.py] started")]
    [InlineData("", "", "")]
    public void Split_TakesTheDaemonsTimestampOnly(string line, string stamp, string text) =>
        Assert.Equal((stamp, text), Timestamped.Split(line));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _feeds.DisposeAsync();

    private sealed class Follower(string container)
    {
        public string Container { get; } = container;
        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();
        public bool Ended { get; set; }
    }
}
