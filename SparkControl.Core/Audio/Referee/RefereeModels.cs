using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Collections;

namespace SparkControl.Core.Audio.Referee;

/// <summary>Why an utterance was put to the referee. Stable codes: they go into the prompt and the audit report.</summary>
public static class RefereeTriggers
{
    /// <summary>The utterance's mean word confidence is below <see cref="RefereeOptions.ConfidenceThreshold"/>.</summary>
    public const string LowConfidence = "low-confidence";

    /// <summary>A word got its speaker by a fallback (nearest segment, the default speaker), not by hearing it.</summary>
    public const string NearestFill = "nearest-fill";

    /// <summary>A few words between two utterances of one other speaker: the classic one-word diarization flip.</summary>
    public const string ShortFlip = "short-flip";

    /// <summary>Not a dispute: the model answered about an id it was not asked about (recorded only to refuse it).</summary>
    public const string NotAsked = "not-asked";
}

/// <summary>
/// An utterance whose label deserves a second opinion: its index in <see cref="LabelMergeResult.Utterances"/>, why, and
/// the machine's confidence in it (the mean of its words'), which the model's answer has to match or beat.
/// </summary>
public sealed record DisputedUtterance(int Utterance, string Trigger, string Speaker, double Confidence)
{
    /// <summary>The id the prompt and the model's answer use for it.</summary>
    public string Id => RefereePrompt.IdOf(Utterance);
}

/// <summary>What became of one disputed utterance.</summary>
public enum DecisionOutcome
{
    /// <summary>The model chose another candidate, confidently enough: the utterance and its words took that speaker.</summary>
    Applied,

    /// <summary>The model agreed with the algorithm, or gave no decision for it: the label stays.</summary>
    Kept,

    /// <summary>The model's decision broke a rule (unknown id, a speaker not among the candidates, too little confidence): the label stays.</summary>
    Refused,

    /// <summary>The call failed (timeout, HTTP error, malformed answer): the label stays.</summary>
    Failed,

    /// <summary>The call budget ran out before this utterance's turn: the label stays.</summary>
    OverBudget,
}

/// <summary>
/// One line of the referee's audit. <see cref="To"/> is the speaker the model chose when it chose another one (applied or
/// refused), null when the label was kept or no answer came; <see cref="Reason"/> is the model's reason when it gave
/// one, else why the decision was refused or failed.
/// </summary>
public sealed record RefereeDecision(int Utterance, string Trigger, string? From, string? To, DecisionOutcome Outcome, string Reason, double? ModelConfidence);

/// <summary>
/// One chat call, for audit: the SHA-256 (hex) of the request body sent, the utterances it asked about, and the failure
/// that kept the whole batch on the algorithm's labels (null when the model answered).
/// </summary>
public sealed record RefereeCall(string PromptHash, ValueArray<int> Utterances, string? Failure);

/// <summary>
/// What the referee did to a transcript. <see cref="Skipped"/> says why it did not run at all (nothing then changed);
/// every disputed utterance has one <see cref="Decisions"/> line, and answers about ids that were not asked add
/// refused lines with trigger <see cref="RefereeTriggers.NotAsked"/>.
/// </summary>
public sealed record RefereeReport(ValueArray<DisputedUtterance> Disputed, ValueArray<RefereeDecision> Decisions, ValueArray<RefereeCall> Calls, string? Skipped)
{
    public int Applied => Decisions.Count(d => d.Outcome == DecisionOutcome.Applied);
}

/// <summary>The refereed transcript (same words, texts, times and utterances; only speakers may differ) and what was done.</summary>
public sealed record RefereeOutcome(LabelMergeResult Result, RefereeReport Report);
