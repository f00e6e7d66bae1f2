using System.Globalization;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Audio.Referee;

/// <summary>
/// The referee pass (audio.md §4): a chat model gets a second say on the speaker of the utterances label-merge was
/// unsure of, in batches, within a call budget. It only moves labels between the transcript's own speakers (the TPST
/// idea of DiarizationLM): words, texts, times, order and the utterances' grouping never change, and any answer that
/// breaks a rule, comes late or does not come leaves the algorithm's label in place. Cancelling the caller's token
/// cancels the pass; a slow model only fails its own batch.
/// </summary>
public static class TranscriptReferee
{
    /// <summary>The most of the model's reason kept in the report.</summary>
    public const int MostReasonChars = 300;

    public const string NoChatModel = "no chat model";
    public const string TooFewSpeakers = "fewer than two candidate speakers";
    public const string OverBudgetReason = "not refereed: budget";

    public static Task<RefereeOutcome> RunAsync(LabelMergeResult transcript, IRefereeChat? chat, RefereeOptions options, CancellationToken ct) =>
        RunAsync(transcript, chat, options, TimeProvider.System, ct);

    /// <summary>Referees <paramref name="transcript"/>; <paramref name="time"/> drives the per-call timeout.</summary>
    public static async Task<RefereeOutcome> RunAsync(LabelMergeResult transcript, IRefereeChat? chat, RefereeOptions options, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        var disputed = DisputeSelector.Select(transcript, options);
        var candidates = DisputeSelector.Candidates(transcript);
        var skipped = chat is null ? NoChatModel : candidates.Count < 2 && disputed.Count > 0 ? TooFewSpeakers : null;
        if (chat is null || skipped is not null)
        {
            return new RefereeOutcome(transcript, new RefereeReport([.. disputed], [], [], skipped));
        }

        var labels = new Relabelling(transcript);
        var decisions = new List<RefereeDecision>();
        var calls = new List<RefereeCall>();
        foreach (var batch in disputed.Chunk(options.BatchSize))
        {
            if (calls.Count >= options.MaxCalls)
            {
                decisions.AddRange(batch.Select(d => new RefereeDecision(d.Utterance, d.Trigger, d.Speaker, null, DecisionOutcome.OverBudget, OverBudgetReason, null)));
                continue;
            }

            var body = RefereePrompt.BuildRequest(labels.Current, candidates, batch, options);
            var (content, failure) = await AskAsync(chat, body, options.Timeout, time, ct).ConfigureAwait(false);
            var answer = content is null ? null : RefereeAnswer.Parse(content);
            failure ??= answer is null ? "the answer is not a JSON object with a decisions array" : null;
            calls.Add(new RefereeCall(RefereePrompt.Hash(body), [.. batch.Select(d => d.Utterance)], failure));
            var judged = failure is not null
                ? batch.Select(d => new RefereeDecision(d.Utterance, d.Trigger, d.Speaker, null, DecisionOutcome.Failed, failure, null)).ToList()
                : Judge(batch, answer!, candidates.ToHashSet(StringComparer.Ordinal), labels.Current.Utterances);
            foreach (var applied in judged.Where(d => d.Outcome == DecisionOutcome.Applied))
            {
                labels.Apply(applied.Utterance, applied.To!);
            }

            decisions.AddRange(judged);
        }

        return new RefereeOutcome(labels.Current, new RefereeReport([.. disputed], [.. decisions], [.. calls], null));
    }

    /// <summary>
    /// One call: the assistant's content, or why there is none. Every failure is the batch's, except the caller's
    /// cancellation, which ends the pass.
    /// </summary>
    private static async Task<(string? Content, string? Failure)> AskAsync(IRefereeChat chat, string body, TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        using var timed = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timed.Token);
        try
        {
            return (await chat.CompleteAsync(body, linked.Token).ConfigureAwait(false), null);
        }
        catch (Exception ex)
        {
            ct.ThrowIfCancellationRequested();
            return (null, Describe(ex, timeout));
        }
    }

    private static string Describe(Exception ex, TimeSpan timeout) => ex switch
    {
        OperationCanceledException or TimeoutException => string.Create(CultureInfo.InvariantCulture, $"no answer within {timeout.TotalSeconds:0.###} s"),
        HttpRequestException { StatusCode: { } status } => string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)status}: {ex.Message}"),
        HttpRequestException => $"the request failed: {ex.Message}",
        RefereeChatException => ex.Message,
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    /// <summary>
    /// Judges a batch's answer: one line per asked utterance (the first decision for its id counts; none means kept),
    /// then a refused line for every decision about an id not asked and every second decision for one.
    /// </summary>
    internal static List<RefereeDecision> Judge(IReadOnlyList<DisputedUtterance> batch, IReadOnlyList<ModelDecision> answer, IReadOnlySet<string> candidates, IReadOnlyList<Utterance> utterances)
    {
        var asked = batch.ToDictionary(d => d.Id, StringComparer.Ordinal);
        var answered = new Dictionary<string, RefereeDecision>(StringComparer.Ordinal);
        var extra = new List<RefereeDecision>();
        foreach (var m in answer)
        {
            if (m.Id is null || !asked.TryGetValue(m.Id, out var d))
            {
                extra.Add(NotAsked(m, utterances));
            }
            else if (answered.ContainsKey(m.Id))
            {
                extra.Add(new RefereeDecision(d.Utterance, d.Trigger, d.Speaker, m.Speaker, DecisionOutcome.Refused, $"a second decision for {m.Id} (the first counts)", m.Confidence));
            }
            else
            {
                answered[m.Id] = Judge(d, m, candidates);
            }
        }

        var lines = batch.Select(d => answered.TryGetValue(d.Id, out var line) ? line
            : new RefereeDecision(d.Utterance, d.Trigger, d.Speaker, null, DecisionOutcome.Kept, "the model gave no decision for it", null));
        return [.. lines, .. extra];
    }

    /// <summary>One decision on an asked utterance: refused when it breaks a rule, kept when it agrees, else applied.</summary>
    private static RefereeDecision Judge(DisputedUtterance d, ModelDecision m, IReadOnlySet<string> candidates)
    {
        var refusal = m.Speaker is null ? "no speaker given"
            : !candidates.Contains(m.Speaker) ? $"'{Shorten(m.Speaker)}' is not a candidate speaker"
            : string.Equals(m.Speaker, d.Speaker, StringComparison.Ordinal) ? null
            : m.Confidence is not { } c || c is < 0 or > 1 ? "no confidence between 0 and 1"
            : c < d.Confidence ? string.Create(CultureInfo.InvariantCulture, $"the model's confidence {c:0.00} is below the machine's {d.Confidence:0.00}")
            : null;
        if (refusal is not null)
        {
            return new RefereeDecision(d.Utterance, d.Trigger, d.Speaker, m.Speaker is null ? null : Shorten(m.Speaker), DecisionOutcome.Refused, refusal, m.Confidence);
        }

        return string.Equals(m.Speaker, d.Speaker, StringComparison.Ordinal)
            ? new RefereeDecision(d.Utterance, d.Trigger, d.Speaker, null, DecisionOutcome.Kept, Shorten(m.Reason ?? "the model agreed"), m.Confidence)
            : new RefereeDecision(d.Utterance, d.Trigger, d.Speaker, m.Speaker, DecisionOutcome.Applied, Shorten(m.Reason ?? string.Empty), m.Confidence);
    }

    /// <summary>A decision on an id this call did not ask about: refused, under the utterance it names when it names one.</summary>
    private static RefereeDecision NotAsked(ModelDecision m, IReadOnlyList<Utterance> utterances)
    {
        var index = m.Id is ['u', .. var digits] && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k < utterances.Count ? k : -1;
        var reason = m.Id is null ? "a decision without an id" : $"'{Shorten(m.Id)}' was not asked in this call";
        return new RefereeDecision(index, RefereeTriggers.NotAsked, index >= 0 ? utterances[index].Speaker : null, m.Speaker is null ? null : Shorten(m.Speaker), DecisionOutcome.Refused, reason, m.Confidence);
    }

    private static string Shorten(string text) => text.Length <= MostReasonChars ? text : text[..MostReasonChars] + "…";

    /// <summary>The transcript as decisions are applied: speakers change, nothing else does.</summary>
    private sealed class Relabelling
    {
        private readonly LabelMergeResult _original;
        private readonly LabelledWord[] _words;
        private readonly Utterance[] _utterances;

        public Relabelling(LabelMergeResult original)
        {
            _original = original;
            _words = [.. original.Words];
            _utterances = [.. original.Utterances];
            Current = original;
        }

        public LabelMergeResult Current { get; private set; }

        /// <summary>Gives utterance <paramref name="k"/> and each of its words <paramref name="speaker"/>; grouping and indices stay.</summary>
        public void Apply(int k, string speaker)
        {
            _utterances[k] = _utterances[k] with { Speaker = speaker };
            foreach (var i in _utterances[k].Words)
            {
                _words[i] = _words[i] with { Speaker = speaker };
            }

            Current = _original with { Words = [.. _words], Utterances = [.. _utterances] };
        }
    }
}
