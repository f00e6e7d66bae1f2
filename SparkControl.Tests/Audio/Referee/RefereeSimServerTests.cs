using System.Net;
using SparkControl.Core.Audio.Referee;
using SparkControl.Sim.Server;
using SparkControl.Tests.Sim;
using static SparkControl.Tests.Audio.Referee.RefereeTranscripts;

namespace SparkControl.Tests.Audio.Referee;

/// <summary>
/// The referee through <see cref="OpenAiRefereeChat"/> against a real simulated vLLM answering from a script (audio.md
/// §4's "fake OpenAI-compatible server on 127.0.0.1"): each test's disputed word is a marker that picks its rule.
/// </summary>
public sealed class RefereeSimServerTests : IAsyncLifetime
{
    private static readonly string ToBob = Answer(("u1", "Bob", 0.9));

    private static readonly SimChatScript Script = new(
        [
            new SimChatRule("marker-apply", ToBob),
            new SimChatRule("marker-stranger", Answer(("u1", "Mallory", 0.9))),
            new SimChatRule("marker-malformed", "I am fairly sure Bob said that."),
            new SimChatRule("marker-slow", ToBob, Delay: TimeSpan.FromSeconds(5)),
            new SimChatRule("marker-error", "engine died", Status: 500),
        ],
        "{\"decisions\":[]}");

    private static readonly RefereeOptions Options = new();

    private ScriptedSimServer _sim = null!;
    private HttpMessageInvoker _http = null!;

    public async Task InitializeAsync()
    {
        _sim = await ScriptedSimServer.StartAsync(Script);
        _http = new HttpMessageInvoker(new SocketsHttpHandler());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _sim.DisposeAsync();
    }

    private OpenAiRefereeChat Chat(TimeSpan? timeout = null) => new(_http, _sim.BaseUri, ScriptedSimServer.Model, timeout: timeout);

    private async Task<RefereeOutcome> RefereeAsync(string marker, RefereeOptions? options = null) =>
        await TranscriptReferee.RunAsync(Flip(marker), Chat(), options ?? Options, CancellationToken.None);

    [Fact]
    public async Task RunAsync_ValidDecision_IsApplied()
    {
        var (result, report) = await RefereeAsync("marker-apply");

        Assert.Equal(DecisionOutcome.Applied, Assert.Single(report.Decisions).Outcome);
        Assert.Equal("Bob", result.Utterances[1].Speaker);
        Assert.Equal("Bob", result.Words[result.Utterances[1].Words[0]].Speaker);
        Assert.Null(Assert.Single(report.Calls).Failure);
    }

    [Fact]
    public async Task RunAsync_SpeakerOutsideTheCandidates_IsRefused()
    {
        var (result, report) = await RefereeAsync("marker-stranger");

        var decision = Assert.Single(report.Decisions);
        Assert.Equal((DecisionOutcome.Refused, "Mallory", "'Mallory' is not a candidate speaker"), (decision.Outcome, decision.To, decision.Reason));
        Assert.Equal("Alice", result.Utterances[1].Speaker);
    }

    [Fact]
    public async Task RunAsync_MalformedJson_KeepsTheLabel()
    {
        var (result, report) = await RefereeAsync("marker-malformed");

        Assert.Equal(DecisionOutcome.Failed, Assert.Single(report.Decisions).Outcome);
        Assert.Equal("Alice", result.Utterances[1].Speaker);
    }

    [Fact]
    public async Task RunAsync_AnswerSlowerThanTheTimeout_KeepsTheLabel()
    {
        var (result, report) = await RefereeAsync("marker-slow", Options with { Timeout = TimeSpan.FromMilliseconds(300) });

        var decision = Assert.Single(report.Decisions);
        Assert.Equal((DecisionOutcome.Failed, "no answer within 0.3 s"), (decision.Outcome, decision.Reason));
        Assert.Equal("Alice", result.Utterances[1].Speaker);
    }

    [Fact]
    public async Task RunAsync_Http500_KeepsTheLabel()
    {
        var (result, report) = await RefereeAsync("marker-error");

        var decision = Assert.Single(report.Decisions);
        Assert.Equal(DecisionOutcome.Failed, decision.Outcome);
        Assert.StartsWith("HTTP 500: ", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("engine died", decision.Reason, StringComparison.Ordinal);
        Assert.Equal("Alice", result.Utterances[1].Speaker);
    }

    [Fact]
    public async Task RunAsync_MoreDisputesThanTheBudget_CallsAtMostMaxCalls()
    {
        var transcript = Build(Enumerable.Range(0, 12).Select(i => new U(i % 2 == 0 ? "Alice" : "Bob", $"budget{i}", 0.2)).ToArray());
        var chat = new CountingChat(Chat());

        var (_, report) = await TranscriptReferee.RunAsync(transcript, chat, Options with { MaxCalls = 3, BatchSize = 2 }, CancellationToken.None);

        Assert.Equal(3, chat.Calls);
        Assert.Equal(3, report.Calls.Count);
        Assert.Equal(6, report.Decisions.Count(d => d.Outcome == DecisionOutcome.Kept));
        Assert.Equal(6, report.Decisions.Count(d => d.Outcome == DecisionOutcome.OverBudget));
    }

    [Fact]
    public async Task CompleteAsync_SetsTheModelAndReadsTheAssistantContent()
    {
        var transcript = Flip("marker-apply");
        var body = RefereePrompt.BuildRequest(transcript, DisputeSelector.Candidates(transcript), DisputeSelector.Select(transcript, Options), Options);

        Assert.Equal(ToBob, await Chat().CompleteAsync(body, CancellationToken.None));
    }

    [Fact]
    public async Task CompleteAsync_ErrorStatus_ThrowsWithTheStatus()
    {
        var transcript = Flip("marker-error");
        var body = RefereePrompt.BuildRequest(transcript, DisputeSelector.Candidates(transcript), DisputeSelector.Select(transcript, Options), Options);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => Chat().CompleteAsync(body, CancellationToken.None));

        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
    }

    /// <summary>Counts the calls that reach the model.</summary>
    private sealed class CountingChat(IRefereeChat inner) : IRefereeChat
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<string> CompleteAsync(string requestJson, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return inner.CompleteAsync(requestJson, cancellationToken);
        }
    }
}
