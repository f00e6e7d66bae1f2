using System.Globalization;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Audio.Referee;

/// <summary>
/// The knobs of the referee pass (audio.md §4). The budget and timeout bound what one transcript can cost on a shared
/// chat model; the thresholds decide which of the algorithm's labels are worth a second opinion at all.
/// </summary>
public sealed record RefereeOptions
{
    public const int MostCalls = 200;
    public const int MostBatchSize = 32;
    public const int MostContextUtterances = 10;

    /// <summary>The most chat calls for one transcript; disputes beyond them keep the algorithm's label.</summary>
    public int MaxCalls { get; init; } = 20;

    /// <summary>Disputed utterances decided in one call.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>How long one call may take before its batch keeps the algorithm's labels.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>An utterance whose mean word confidence is below this is disputed.</summary>
    public double ConfidenceThreshold { get; init; } = 0.6;

    /// <summary>Utterances of context sent on each side of a disputed one.</summary>
    public int ContextUtterances { get; init; } = 2;

    /// <summary>An utterance of at most this many words between two of one other speaker is an isolated flip.</summary>
    public int MaxFlipWords { get; init; } = 2;

    /// <summary>Every rule, as field errors (empty when the options are usable).</summary>
    public IReadOnlyList<FieldError> Validate()
    {
        var errors = new List<FieldError>();
        if (MaxCalls is < 0 or > MostCalls)
        {
            errors.Add(new FieldError(nameof(MaxCalls), $"MaxCalls must be between 0 and {MostCalls}, not {MaxCalls}"));
        }

        if (BatchSize is < 1 or > MostBatchSize)
        {
            errors.Add(new FieldError(nameof(BatchSize), $"BatchSize must be between 1 and {MostBatchSize}, not {BatchSize}"));
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(10))
        {
            errors.Add(new FieldError(nameof(Timeout), $"Timeout must be a positive duration up to 00:10:00, not {Timeout.ToString("c", CultureInfo.InvariantCulture)}"));
        }

        if (!double.IsFinite(ConfidenceThreshold) || ConfidenceThreshold is < 0 or > 1)
        {
            errors.Add(new FieldError(nameof(ConfidenceThreshold), $"ConfidenceThreshold must be between 0 and 1, not {ConfidenceThreshold.ToString(CultureInfo.InvariantCulture)}"));
        }

        if (ContextUtterances is < 0 or > MostContextUtterances)
        {
            errors.Add(new FieldError(nameof(ContextUtterances), $"ContextUtterances must be between 0 and {MostContextUtterances}, not {ContextUtterances}"));
        }

        if (MaxFlipWords < 0)
        {
            errors.Add(new FieldError(nameof(MaxFlipWords), $"MaxFlipWords must not be negative, not {MaxFlipWords}"));
        }

        return errors;
    }
}
