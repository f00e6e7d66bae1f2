using System.Collections.Immutable;
using System.Text.RegularExpressions;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Signal;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Audio.Transcripts;

/// <summary>
/// The one set of checks for a transcription request, shared by <c>POST /api/transcripts</c> and the Transcripts page:
/// the audio (a 16-bit PCM WAV, mono or a two-channel call, within the size and duration caps, recognised by its
/// header and not by its name), the speakers, the diarization, the language and the model.
/// </summary>
public static partial class TranscriptRequestRules
{
    public const int MaxSpeakers = 32;

    /// <summary>The most bytes of diarization text read (four hours of RTTM turns, one every 2 s, is 0.5 MB).</summary>
    public const int MaxDiarizationChars = 1024 * 1024;

    /// <summary>
    /// The first bytes of the upload that <see cref="Audio"/> reads: recorders put broadcast-wave, iXML and LIST chunks
    /// (a few KB) before the audio, and the header is found past them.
    /// </summary>
    public const int HeaderBytes = 64 * 1024;

    /// <summary>What the audio is, from its first bytes and its length; a field error when it is not a call the job takes.</summary>
    public static TranscriptAudio Audio(ReadOnlySpan<byte> head, long length, string? fileName, TranscriptOptions options)
    {
        var name = Path.GetFileName(fileName ?? "call.wav");
        if (length > options.MaxUploadBytes)
        {
            throw Invalid("file", $"the file is {length:N0} bytes; the limit is {options.MaxUploadBytes:N0} bytes (Transcripts:MaxUploadBytes)");
        }

        WavFile.Header header;
        try
        {
            header = WavFile.ReadHeader(head);
        }
        catch (WavFormatException ex)
        {
            var what = Gateway.AudioFormat.Describe(head);
            throw Invalid("file", $"'{Validators.Printable(name)}' is not a WAV call ({what}): {ex.Message} Convert it with sox in.ext -b 16 call.wav.");
        }

        if (WavFile.NotPcm16(header) is { } notPcm16)
        {
            throw Invalid("file", $"'{Validators.Printable(name)}': {notPcm16}");
        }

        if (header.Channels is < 1 or > 2)
        {
            throw Invalid("file", $"'{Validators.Printable(name)}' has {header.Channels} channels; send a stereo call (channel 0 the local microphone, channel 1 the remote side) or a mono recording.");
        }

        if (header.SampleRate is < 8000 or > 96000)
        {
            throw Invalid("file", $"'{Validators.Printable(name)}' is sampled at {header.SampleRate} Hz; between 8 and 96 kHz is taken.");
        }

        // The header's data length can be a streamed file's placeholder; what is uploaded decides.
        var frames = Math.Max(0, length - header.DataOffset) / (2 * header.Channels);
        var seconds = (double)frames / header.SampleRate;
        if (seconds > options.MaxDuration.TotalSeconds)
        {
            throw Invalid("file", $"the call is {TimeSpan.FromSeconds(seconds):h\\:mm\\:ss} long; the limit is {options.MaxDuration:h\\:mm\\:ss} (Transcripts:MaxDuration)");
        }

        if (frames == 0)
        {
            throw Invalid("file", $"'{Validators.Printable(name)}' holds no audio.");
        }

        return new TranscriptAudio(name.Length > 200 ? name[..200] : name, length, header.Channels, header.SampleRate, Math.Round(seconds, 3));
    }

    /// <summary>
    /// The options of a request, each checked: <paramref name="speakers"/> is comma-separated names (the local then the
    /// remote side of a call, or the one speaker of a mono recording) and/or <c>LABEL=Name</c> pairs renaming diarized
    /// speakers; <paramref name="diarization"/> is RTTM or pyannote JSON text.
    /// </summary>
    public static TranscriptSettings Settings(string? echoCancel, string? referee, string? language, string? model, string? speakers, string? diarization)
    {
        var errors = new List<FieldError>();
        var settings = new TranscriptSettings
        {
            EchoCancel = Flag(echoCancel, "echoCancel", true, errors),
            Referee = Flag(referee, "referee", true, errors),
            Language = Language(language, errors),
            Model = string.IsNullOrEmpty(model) ? null : Validators.ServedName(model, "model") is { } bad ? Add(errors, "model", bad) : model,
            Speakers = Speakers(speakers, errors),
            Diarization = string.IsNullOrWhiteSpace(diarization) ? null : diarization,
        };
        if (settings.Diarization is { } text)
        {
            try
            {
                _ = Diarization(text, settings.Speakers);
            }
            catch (ValidationFailedException ex)
            {
                errors.AddRange(ex.Errors);
            }
        }

        return errors.Count == 0 ? settings : throw new ValidationFailedException(errors);
    }

    /// <summary>The diarization's turns, with speakers renamed by the <c>LABEL=Name</c> entries of <paramref name="speakers"/>.</summary>
    public static IReadOnlyList<SpeakerSegment> Diarization(string text, ImmutableArray<string> speakers)
    {
        if (text.Length > MaxDiarizationChars)
        {
            throw Invalid("diarization", $"the diarization is {text.Length:N0} characters; at most {MaxDiarizationChars:N0}");
        }

        IReadOnlyList<SpeakerSegment> segments;
        try
        {
            segments = DiarizationFormats.Parse(text).Segments;
        }
        catch (FormatException ex)
        {
            throw Invalid("diarization", $"not RTTM or pyannote JSON: {ex.Message}");
        }

        if (segments.Count == 0)
        {
            throw Invalid("diarization", "the diarization holds no speaker turns");
        }

        var renames = speakers.Select(s => s.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
        return renames.Count == 0 ? segments : [.. segments.Select(s => renames.TryGetValue(s.Speaker, out var name) ? s with { Speaker = name } : s)];
    }

    private static ImmutableArray<string> Speakers(string? text, List<FieldError> errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        if (text.Any(char.IsControl))
        {
            // Checked before the entries are trimmed: a name with a line break is refused, not quietly cut.
            errors.Add(new FieldError("speakers", "speaker names must not contain control characters (line breaks would break subtitles)"));
            return [];
        }

        var entries = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (entries.Length > MaxSpeakers)
        {
            errors.Add(new FieldError("speakers", $"at most {MaxSpeakers} speakers, not {entries.Length}"));
            return [];
        }

        foreach (var entry in entries)
        {
            foreach (var part in entry.Split('=', 2))
            {
                if (LabelMergeRequestReader.CheckSpeaker(part.Trim()) is { } problem)
                {
                    errors.Add(new FieldError("speakers", $"'{Validators.Printable(part)}' {problem}"));
                }
            }
        }

        if (entries.Count(e => !e.Contains('=', StringComparison.Ordinal)) > 2)
        {
            errors.Add(new FieldError("speakers", "name at most two speakers by position (the local and the remote side); rename diarized speakers with LABEL=Name"));
        }

        return [.. entries.Where(e => !e.Contains('=', StringComparison.Ordinal)).Concat(entries.Where(e => e.Contains('=', StringComparison.Ordinal)))];
    }

    private static string? Language(string? text, List<FieldError> errors) =>
        string.IsNullOrEmpty(text) ? null
            : LanguageCode().IsMatch(text) ? text
            : Add(errors, "language", $"'{Validators.Printable(text)}' is not a language code such as en or pt-BR");

    private static bool Flag(string? text, string field, bool fallback, List<FieldError> errors)
    {
        if (Validators.Flag(text, out var value, field) is { } problem)
        {
            Add(errors, field, problem);
        }

        return value ?? fallback;
    }

    private static string? Add(List<FieldError> errors, string field, string message)
    {
        errors.Add(new FieldError(field, message));
        return null;
    }

    private static ValidationFailedException Invalid(string field, string message) => new([new FieldError(field, message)]);

    [GeneratedRegex(@"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?\z", RegexOptions.CultureInvariant)]
    private static partial Regex LanguageCode();
}
