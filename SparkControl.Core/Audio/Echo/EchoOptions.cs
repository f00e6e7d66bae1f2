using Microsoft.Extensions.Options;
using SparkControl.Core.Validation;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>Settings of the echo-cancellation endpoint and panel, section <c>Audio:Echo</c>.</summary>
public sealed class EchoOptions
{
    public const string Section = "Audio:Echo";

    /// <summary>Default filter tail when a request does not name one.</summary>
    public TimeSpan TailLength { get; set; } = EchoCancellerSettings.DefaultTailLength;

    /// <summary>Default number of passes (1 or 2) when a request does not name one.</summary>
    public int Passes { get; set; } = 2;

    /// <summary>Whether the residual echo suppressor runs when a request does not say (<see cref="EchoCancellerSettings.ResidualSuppression"/>).</summary>
    public bool ResidualSuppression { get; set; }

    /// <summary>Largest upload accepted, in bytes (48 MiB holds 10 minutes of 16 kHz stereo).</summary>
    public int MaxUploadBytes { get; set; } = 48 * 1024 * 1024;

    /// <summary>Longest call accepted.</summary>
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Cancellations that may wait while one runs; more are told to retry (503 with Retry-After).</summary>
    public int MaxQueued { get; set; } = 2;
}

/// <summary>Validates <see cref="EchoOptions"/>, naming each bad key.</summary>
public sealed class EchoOptionsValidator : IValidateOptions<EchoOptions>
{
    public ValidateOptionsResult Validate(string? name, EchoOptions options)
    {
        var errors = new List<string>();
        const string prefix = EchoOptions.Section;
        if (options.TailLength < TimeSpan.FromMilliseconds(16) || options.TailLength > TimeSpan.FromMilliseconds(1000))
        {
            errors.Add($"{prefix}:TailLength must be between 00:00:00.016 and 00:00:01, not {options.TailLength}");
        }

        if (options.Passes is not (1 or 2))
        {
            errors.Add($"{prefix}:Passes must be 1 or 2, not {options.Passes}");
        }

        if (options.MaxQueued is < 0 or > 100)
        {
            errors.Add($"{prefix}:MaxQueued must be between 0 and 100, not {options.MaxQueued}");
        }

        if (options.MaxUploadBytes < 1024)
        {
            errors.Add($"{prefix}:MaxUploadBytes must be at least 1024, not {options.MaxUploadBytes}");
        }

        if (options.MaxDuration <= TimeSpan.Zero || options.MaxDuration > TimeSpan.FromHours(2))
        {
            errors.Add($"{prefix}:MaxDuration must be a positive duration of at most 02:00:00, not {options.MaxDuration}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Turns an uploaded call into canceller input, or says exactly what is wrong with it (field <c>file</c>, or the
/// parameter's name): one set of rules for the API and the panel.
/// </summary>
public static class EchoCallRequest
{
    public const int MinSampleRate = 8000;
    public const int MaxSampleRate = 48000;

    /// <summary>Reads a stereo 16-bit WAV within the limits, or throws <see cref="ValidationFailedException"/>.</summary>
    public static PcmAudio ReadCall(ReadOnlySpan<byte> file, EchoOptions options)
    {
        if (file.Length > options.MaxUploadBytes)
        {
            throw Invalid("file", $"the file is {file.Length:N0} bytes; the limit is {options.MaxUploadBytes:N0} bytes");
        }

        WavFile.Header header;
        try
        {
            header = WavFile.ReadHeader(file);
        }
        catch (WavFormatException ex)
        {
            throw Invalid("file", ex.Message);
        }

        if (header.Channels != 2)
        {
            throw Invalid("file", $"the WAV file has {header.Channels} channel{(header.Channels == 1 ? "" : "s")}; send a stereo call: channel 0 the microphone, channel 1 the far end (what the loudspeaker played)");
        }

        if (header.SampleRate is < MinSampleRate or > MaxSampleRate)
        {
            throw Invalid("file", $"the sample rate is {header.SampleRate} Hz; send {MinSampleRate}–{MaxSampleRate} Hz, best 16000 (e.g. sox in.wav -r 16000 out.wav)");
        }

        if (header.BitsPerSample == 16 && header.Duration > options.MaxDuration)
        {
            throw Invalid("file", $"the call lasts {header.Duration:hh\\:mm\\:ss}; the limit is {options.MaxDuration:hh\\:mm\\:ss}");
        }

        try
        {
            var audio = WavFile.Read(file);
            return audio.Length == 0 ? throw Invalid("file", "the WAV file holds no samples") : audio;
        }
        catch (WavFormatException ex)
        {
            throw Invalid("file", ex.Message);
        }
    }

    /// <summary>
    /// Canceller settings from the request's optional <c>passes</c>, <c>tailMs</c> and <c>residualSuppression</c>
    /// (<see cref="Validators.Flag"/>: true or false, as the transcript jobs' switches), defaults from the options.
    /// </summary>
    public static EchoCancellerSettings Settings(string? passes, string? tailMs, string? residualSuppression, EchoOptions options)
    {
        var errors = ReadSettings(passes, tailMs, residualSuppression, options, out var settings);
        return errors.Count > 0 ? throw new ValidationFailedException(errors) : settings;
    }

    /// <summary>The same as <see cref="Settings"/> without throwing: the panel marks each field with its error as it is typed.</summary>
    public static IReadOnlyList<FieldError> ReadSettings(string? passes, string? tailMs, string? residualSuppression, EchoOptions options, out EchoCancellerSettings settings)
    {
        var errors = new List<FieldError>();
        // The shared whole-number rule reads both (spaces forgiven, a line break or other control character not); each
        // field has one message for any value it cannot take.
        var passCount = options.Passes;
        if (Validators.WholeNumber(passes, out var typedPasses, "passes") is not null || typedPasses is not (null or 1 or 2))
        {
            errors.Add(new FieldError("passes", $"passes must be 1 or 2, not '{Validators.Printable(passes!)}'"));
        }
        else
        {
            passCount = typedPasses ?? passCount;
        }

        var tail = options.TailLength;
        if (Validators.WholeNumber(tailMs, out var milliseconds, "tailMs") is not null || milliseconds is not (null or (>= 16 and <= 1000)))
        {
            errors.Add(new FieldError("tailMs", $"tailMs must be a whole number of milliseconds from 16 to 1000, not '{Validators.Printable(tailMs!)}'"));
        }
        else if (milliseconds is { } value)
        {
            tail = TimeSpan.FromMilliseconds(value);
        }

        if (Validators.Flag(residualSuppression, out var suppress, "residualSuppression") is { } problem)
        {
            errors.Add(new FieldError("residualSuppression", problem));
        }

        settings = new EchoCancellerSettings { Passes = passCount, TailLength = tail, ResidualSuppression = suppress ?? options.ResidualSuppression };
        return errors;
    }

    private static ValidationFailedException Invalid(string field, string message) => new([new FieldError(field, message)]);
}
