using Microsoft.Extensions.Options;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio;

/// <summary>Settings under <c>Audio</c>: label-merge defaults and the limits of the label-merge API.</summary>
public sealed class AudioOptions
{
    public const string Section = "Audio";

    /// <summary>A word in a diarization gap takes the nearest segment's speaker up to this far away.</summary>
    public TimeSpan MaxFillGap { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longer words count only this long when assigning a speaker; zero turns capping off.</summary>
    public TimeSpan MaxWordDuration { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Words this close to another speaker's turn get a lower confidence; zero turns it off.</summary>
    public TimeSpan BoundaryGuard { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A longer pause starts a new utterance.</summary>
    public TimeSpan MaxPause { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A longer utterance ends at its next sentence end.</summary>
    public TimeSpan MaxUtterance { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Words below this confidence are highlighted on the Audio page.</summary>
    public double LowConfidence { get; set; } = 0.6;

    /// <summary>The most words one label-merge request may carry (all channels together).</summary>
    public int MaxWords { get; set; } = 200_000;

    /// <summary>The largest label-merge request body, in bytes.</summary>
    public int MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The speaker of channel 0 (the local microphone) of a call, unless the request names one.</summary>
    public string LocalSpeaker { get; set; } = "Local";

    /// <summary>The speaker of channel 1 of a call when it has no diarization, unless the request names one.</summary>
    public string RemoteSpeaker { get; set; } = "Remote";

    public LabelMergeOptions ToMergeOptions() => new()
    {
        MaxFillGap = MaxFillGap,
        MaxWordDuration = MaxWordDuration,
        BoundaryGuard = BoundaryGuard,
        MaxPause = MaxPause,
        MaxUtterance = MaxUtterance,
    };
}

/// <summary>Validates <see cref="AudioOptions"/>, naming each bad key.</summary>
public sealed class AudioOptionsValidator : IValidateOptions<AudioOptions>
{
    public ValidateOptionsResult Validate(string? name, AudioOptions options)
    {
        var errors = new List<string>();
        const string prefix = AudioOptions.Section;
        NotNegative(errors, $"{prefix}:MaxFillGap", options.MaxFillGap);
        NotNegative(errors, $"{prefix}:MaxWordDuration", options.MaxWordDuration);
        NotNegative(errors, $"{prefix}:BoundaryGuard", options.BoundaryGuard);
        NotNegative(errors, $"{prefix}:MaxPause", options.MaxPause);
        if (options.MaxUtterance <= TimeSpan.Zero)
        {
            errors.Add($"{prefix}:MaxUtterance must be a positive duration like 00:00:30, not {options.MaxUtterance}");
        }

        if (!double.IsFinite(options.LowConfidence) || options.LowConfidence is < 0 or > 1)
        {
            errors.Add($"{prefix}:LowConfidence must be between 0 and 1, not {options.LowConfidence}");
        }

        if (options.MaxWords is < 1 or > 10_000_000)
        {
            errors.Add($"{prefix}:MaxWords must be between 1 and 10000000, not {options.MaxWords}");
        }

        if (options.MaxRequestBytes is < 1024 or > 1024 * 1024 * 1024)
        {
            errors.Add($"{prefix}:MaxRequestBytes must be between 1024 and 1073741824, not {options.MaxRequestBytes}");
        }

        if (LabelMergeRequestReader.CheckSpeaker(options.LocalSpeaker) is { } local)
        {
            errors.Add($"{prefix}:LocalSpeaker {local}");
        }

        if (LabelMergeRequestReader.CheckSpeaker(options.RemoteSpeaker) is { } remote)
        {
            errors.Add($"{prefix}:RemoteSpeaker {remote}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void NotNegative(List<string> errors, string key, TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            errors.Add($"{key} must be zero or a positive duration like 00:00:01, not {value}");
        }
    }
}
