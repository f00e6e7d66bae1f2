using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Referee;
using SparkControl.Core.Validation;
using SparkControl.Tests.Infrastructure;
using static SparkControl.Tests.Audio.Referee.RefereeTranscripts;

namespace SparkControl.Tests.Audio.Referee;

/// <summary>The referee pass (audio.md §4) with a hand-written chat model: which utterances are disputed, what is sent, and what is done with the answer.</summary>
public sealed class TranscriptRefereeTests
{
    private static readonly RefereeOptions Options = new();

    [Theory]
    [InlineData(0.59, true)]
    [InlineData(0.6, false)]
    [InlineData(1.0, false)]
    public void Select_MeanConfidenceBelowTheThreshold_IsLowConfidence(double confidence, bool disputed)
    {
        var transcript = Build(new U("A", "hello there friend", confidence), new U("B", "hi how are you"));

        var selected = DisputeSelector.Select(transcript, Options);

        (int, string)[] expected = disputed ? [(0, RefereeTriggers.LowConfidence)] : [];
        Assert.Equal(expected, selected.Select(d => (d.Utterance, d.Trigger)));
    }

    [Theory]
    [InlineData(AssignMethod.Nearest, "A", true)]
    [InlineData(AssignMethod.Default, "A", true)]
    [InlineData(AssignMethod.Unassigned, "A", true)]
    [InlineData(AssignMethod.Overlap, "A", false)]
    [InlineData(AssignMethod.Channel, "A", false)]
    [InlineData(AssignMethod.Unassigned, null, false)]
    public void Select_WordsFilledByAFallback_AreNearestFill(AssignMethod method, string? speaker, bool disputed)
    {
        var transcript = Build(new U("B", "we start here"), new U(speaker, "then this part", 1, method), new U("B", "and this ends it"));

        var selected = DisputeSelector.Select(transcript, Options);

        (int, string)[] expected = disputed ? [(1, RefereeTriggers.NearestFill)] : [];
        Assert.Equal(expected, selected.Select(d => (d.Utterance, d.Trigger)));
    }

    [Fact]
    public void Select_OneOrTwoWordsBetweenTwoUtterancesOfAnotherSpeaker_IsShortFlip()
    {
        var transcript = Build(
            new U("A", "one two three"), new U("B", "yeah"), new U("A", "four five six"),
            new U("B", "right right"), new U("A", "seven eight nine"),
            new U("B", "three words here"), new U("A", "ten eleven twelve"));

        var selected = DisputeSelector.Select(transcript, Options);

        // "three words here" is over MaxFlipWords; the A utterances are between B's, but are long.
        Assert.Equal([(1, RefereeTriggers.ShortFlip), (3, RefereeTriggers.ShortFlip)], selected.Select(d => (d.Utterance, d.Trigger)));
    }

    [Fact]
    public void Select_ShortFlip_LooksAtTheSameChannelOnly()
    {
        var transcript = Build(
            new U("Local", "so the plan is", Channel: 0),
            new U("Remote", "mm", Channel: 1),
            new U("Local", "yes", Channel: 0),
            new U("Remote", "okay go on", Channel: 1),
            new U("Local", "to ship it friday", Channel: 0));

        var selected = DisputeSelector.Select(transcript, Options);

        // Remote's "mm" has Local on both sides, but on the other channel; Local's "yes" has Local around it on its own.
        Assert.Empty(selected);
    }

    [Fact]
    public void Select_NeighboursOfDifferentSpeakers_IsNoFlip()
    {
        var transcript = Build(new U("A", "one two three"), new U("B", "yeah"), new U("C", "four five six"));

        Assert.Empty(DisputeSelector.Select(transcript, Options));
    }

    [Fact]
    public void Candidates_AreTheDistinctSpeakersInOrderOfFirstAppearance()
    {
        var transcript = Build(new U("Remote-B", "a"), new U(null, "b"), new U("Local", "c"), new U("Remote-B", "d"), new U("Remote-A", "e"));

        Assert.Equal(["Remote-B", "Local", "Remote-A"], DisputeSelector.Candidates(transcript));
    }

    [Fact]
    public void BuildRequest_SendsOnlyTheDisputedUtterancesWithTheirContext()
    {
        var utterances = Enumerable.Range(0, 20).Select(i => new U(i % 2 == 0 ? "Alice" : "Bob", $"line{i} words here", i is 10 or 16 ? 0.3 : 1)).ToArray();
        var transcript = Build(utterances);
        var disputed = DisputeSelector.Select(transcript, Options);

        var body = RefereePrompt.BuildRequest(transcript, DisputeSelector.Candidates(transcript), disputed, Options);
        var user = UserMessage(body);

        Assert.Equal([10, 16], disputed.Select(d => d.Utterance));
        var shown = Enumerable.Range(0, 20).Where(i => user.Contains($"line{i} ", StringComparison.Ordinal)).ToList();
        Assert.Equal([8, 9, 10, 11, 12, 14, 15, 16, 17, 18], shown);
        Assert.Contains("Candidate speakers: [\"Alice\",\"Bob\"]", user, StringComparison.Ordinal);
        Assert.Contains("[u10] <spk:Alice> line10 words here\n", user, StringComparison.Ordinal);
        Assert.Contains("\n<spk:Alice> line12 words here\n…\n<spk:Alice> line14 words here\n", user, StringComparison.Ordinal);
        Assert.Contains("u16: the machine chose \"Alice\" with confidence 0.30 (low-confidence)", user, StringComparison.Ordinal);
        Assert.DoesNotContain("[u11]", user, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildRequest_AsksForDeterministicJsonWithoutNamingTheModel()
    {
        var transcript = Flip("yes");
        var disputed = DisputeSelector.Select(transcript, Options);

        using var body = JsonDocument.Parse(RefereePrompt.BuildRequest(transcript, DisputeSelector.Candidates(transcript), disputed, Options));

        var root = body.RootElement;
        Assert.Equal(0, root.GetProperty("temperature").GetDouble());
        Assert.Equal(0, root.GetProperty("seed").GetInt32());
        Assert.Equal(RefereePrompt.TokensPerDecision, root.GetProperty("max_tokens").GetInt32());
        Assert.Equal("json_object", root.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal("system", root.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Contains("never change", root.GetProperty("messages")[0].GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.False(root.TryGetProperty("model", out _));
    }

    [Fact]
    public void WithModel_PutsTheModelFirstAndKeepsTheRest()
    {
        var withModel = RefereePrompt.WithModel("{\"messages\":[],\"temperature\":0,\"model\":\"old\"}", "qwen3-8b");

        Assert.Equal("{\"model\":\"qwen3-8b\",\"messages\":[],\"temperature\":0}", withModel);
    }

    [Theory]
    [InlineData("{\"decisions\":[{\"id\":\"u1\",\"speaker\":\"Bob\",\"confidence\":0.9,\"reason\":\"r\"}]}")]
    [InlineData("```json\n{\"decisions\":[{\"id\":\"u1\",\"speaker\":\"Bob\",\"confidence\":0.9,\"reason\":\"r\"}]}\n```")]
    [InlineData("Sure! Here it is: {\"decisions\":[{\"id\":\"u1\",\"speaker\":\"Bob\",\"confidence\":0.9,\"reason\":\"r\"}]} Hope that helps {not json}")]
    public void Parse_JsonOrTheFirstObjectInProse_ReadsTheDecisions(string content)
    {
        var decisions = RefereeAnswer.Parse(content);

        Assert.Equal([new ModelDecision("u1", "Bob", 0.9, "r")], decisions);
    }

    [Fact]
    public void FirstObject_BracesInsideStrings_DoNotCount()
    {
        Assert.Equal("{\"a\":\"}{\\\"}\"}", RefereeAnswer.FirstObject("x {\"a\":\"}{\\\"}\"} y}"));
        Assert.Null(RefereeAnswer.FirstObject("{ never closed"));
    }

    [Theory]
    [InlineData("I think it was Bob.")]
    [InlineData("{\"decisions\":\"Bob\"}")]
    [InlineData("{\"speaker\":\"Bob\"}")]
    [InlineData("[{\"id\":\"u1\"}]")]
    [InlineData("{\"decisions\":[{\"id\":\"u1\"},")]
    [InlineData("")]
    public void Parse_NoObjectWithADecisionsArray_IsNull(string content)
    {
        Assert.Null(RefereeAnswer.Parse(content));
    }

    [Fact]
    public void Parse_FieldsOfTheWrongType_AreNull()
    {
        var decisions = RefereeAnswer.Parse("{\"decisions\":[{\"id\":1,\"speaker\":[\"Bob\"],\"confidence\":\"0.9\"},7]}");

        Assert.Equal([new ModelDecision(null, null, null, null), new ModelDecision(null, null, null, null)], decisions);
    }

    [Fact]
    public async Task RunAsync_ValidDecision_RelabelsTheUtteranceAndItsWordsOnly()
    {
        var transcript = Flip("yes");
        var chat = new FakeRefereeChat(Answer(("u1", "Bob", 0.8)));

        var (result, report) = await TranscriptReferee.RunAsync(transcript, chat, Options, CancellationToken.None);

        var decision = Assert.Single(report.Decisions);
        Assert.Equal(new RefereeDecision(1, RefereeTriggers.ShortFlip, "Alice", "Bob", DecisionOutcome.Applied, "test", 0.8), decision);
        Assert.Equal(["Bob", "Bob", "Bob"], result.Utterances.Select(u => u.Speaker));
        Assert.All(result.Utterances[1].Words, i => Assert.Equal("Bob", result.Words[i].Speaker));
        Assert.Equal(transcript.Words.Select(w => w with { Speaker = null }), result.Words.Select(w => w with { Speaker = null }));
        Assert.Equal(transcript.Utterances.Select(u => u with { Speaker = null }), result.Utterances.Select(u => u with { Speaker = null }));
        Assert.Equal(RefereePrompt.Hash(chat.Requests[0]), Assert.Single(report.Calls).PromptHash);
    }

    [Theory]
    [InlineData("Mallory", 0.9, "'Mallory' is not a candidate speaker")]
    [InlineData("Bob", 0.4, "the model's confidence 0.40 is below the machine's 0.50")]
    [InlineData("Bob", 1.5, "no confidence between 0 and 1")]
    public void Judge_RuleBroken_IsRefusedAndSaysWhy(string speaker, double confidence, string why)
    {
        var transcript = Flip("yes");
        var disputed = DisputeSelector.Select(transcript, Options);

        var judged = TranscriptReferee.Judge(disputed, [new ModelDecision("u1", speaker, confidence, "r")], new HashSet<string> { "Alice", "Bob" }, transcript.Utterances);

        Assert.Equal(new RefereeDecision(1, RefereeTriggers.ShortFlip, "Alice", speaker, DecisionOutcome.Refused, why, confidence), Assert.Single(judged));
    }

    [Fact]
    public void Judge_UnaskedIdsSecondDecisionsAndSilence_AreRecorded()
    {
        var transcript = Build(new U("A", "one two three"), new U("B", "yeah", 0.5), new U("A", "four five six"), new U("B", "so", 0.5), new U("A", "seven eight"));
        var disputed = DisputeSelector.Select(transcript, Options);
        var answer = new[] { new ModelDecision("u2", "B", 1, "r"), new ModelDecision("u1", "B", 0.9, "agrees"), new ModelDecision("u1", "A", 0.9, "changed its mind"), new ModelDecision(null, "A", 1, null) };

        var judged = TranscriptReferee.Judge(disputed, answer, new HashSet<string> { "A", "B" }, transcript.Utterances);

        Assert.Equal(
            [
                (1, DecisionOutcome.Kept, "agrees"),
                (3, DecisionOutcome.Kept, "the model gave no decision for it"),
                (2, DecisionOutcome.Refused, "'u2' was not asked in this call"),
                (1, DecisionOutcome.Refused, "a second decision for u1 (the first counts)"),
                (-1, DecisionOutcome.Refused, "a decision without an id"),
            ],
            judged.Select(d => (d.Utterance, d.Outcome, d.Reason)));
    }

    [Fact]
    public async Task RunAsync_NoChatModel_ChangesNothingAndSaysWhy()
    {
        var transcript = Flip("yes");

        var (result, report) = await TranscriptReferee.RunAsync(transcript, null, Options, CancellationToken.None);

        Assert.Same(transcript, result);
        Assert.Equal(TranscriptReferee.NoChatModel, report.Skipped);
        Assert.Single(report.Disputed);
        Assert.Empty(report.Decisions);
    }

    [Fact]
    public async Task RunAsync_MalformedAnswer_KeepsTheLabelsOfTheBatch()
    {
        var transcript = Flip("yes");

        var (result, report) = await TranscriptReferee.RunAsync(transcript, new FakeRefereeChat("It was Bob."), Options, CancellationToken.None);

        Assert.Equal(transcript.Words, result.Words);
        Assert.Equal(DecisionOutcome.Failed, Assert.Single(report.Decisions).Outcome);
        Assert.NotNull(Assert.Single(report.Calls).Failure);
    }

    [Fact]
    public async Task RunAsync_BudgetSpent_LeavesTheRestOverBudget()
    {
        var transcript = Build(Enumerable.Range(0, 9).Select(i => new U(i % 2 == 0 ? "A" : "B", $"w{i}", 0.2)).ToArray());
        var chat = new FakeRefereeChat("{\"decisions\":[]}");

        var (_, report) = await TranscriptReferee.RunAsync(transcript, chat, Options with { MaxCalls = 2, BatchSize = 3 }, CancellationToken.None);

        Assert.Equal(2, chat.Requests.Count);
        Assert.Equal(2, report.Calls.Count);
        Assert.Equal(Enumerable.Repeat(DecisionOutcome.Kept, 6).Concat(Enumerable.Repeat(DecisionOutcome.OverBudget, 3)), report.Decisions.Select(d => d.Outcome));
        Assert.Equal(TranscriptReferee.OverBudgetReason, report.Decisions[^1].Reason);
    }

    [Fact]
    public async Task RunAsync_CallerCancels_Throws()
    {
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var chat = new FakeRefereeChat(async (_, ct) =>
        {
            called.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return string.Empty;
        });
        using var cts = new CancellationTokenSource();

        var run = TranscriptReferee.RunAsync(Flip("yes"), chat, Options, cts.Token);
        await called.Task.WaitAsync(Wait.DefaultTimeout);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task RunAsync_CallTimesOut_FailsTheBatchWithoutThrowing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var chat = new FakeRefereeChat(async (_, ct) =>
        {
            called.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return string.Empty;
        });

        var run = TranscriptReferee.RunAsync(Flip("yes"), chat, Options, time, CancellationToken.None);
        await called.Task.WaitAsync(Wait.DefaultTimeout);
        time.Advance(Options.Timeout);
        var (result, report) = await run.WaitAsync(Wait.DefaultTimeout);

        Assert.Equal("Alice", result.Utterances[1].Speaker);
        var decision = Assert.Single(report.Decisions);
        Assert.Equal((DecisionOutcome.Failed, "no answer within 20 s"), (decision.Outcome, decision.Reason));
    }

    [Fact]
    public async Task RunAsync_InvalidOptions_ThrowsWithTheFields()
    {
        var error = await Assert.ThrowsAsync<ValidationFailedException>(() =>
            TranscriptReferee.RunAsync(Flip("yes"), null, Options with { BatchSize = 0, Timeout = TimeSpan.Zero }, CancellationToken.None));

        Assert.Equal(["BatchSize", "Timeout"], error.Errors.Select(e => e.Field));
    }
}
