using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio;
using SparkControl.Web.Api;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Web.Components.Controls;

/// <summary>
/// The label-merge tab of the Audio page: pasted or uploaded transcript and diarization in (or, for a two-channel call,
/// both channels' transcripts, with echo removal on or off), a speaker-coloured transcript with low-confidence words
/// highlighted out, the echo words removed, and SRT/WebVTT downloads. The work is Core's <see cref="PastedTranscript"/>,
/// which runs the API's <see cref="LabelMergeJob"/>.
/// </summary>
public partial class LabelMergePanel
{
    /// <summary>Speaker colours, in the order speakers first talk; enough to tell a meeting apart.</summary>
    private static readonly string[] Palette = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e"];

    private bool _call;
    private bool _removeEcho = true;
    private string? _asr;
    private string? _remoteAsr;
    private string? _diarization;
    private string? _error;
    private PastedMerge? _merge;
    private string? _srtLink;
    private string? _vttLink;

    [Inject]
    public required IOptions<AudioOptions> Options { get; init; }

    private long MaxUpload => Options.Value.MaxRequestBytes;

    private double LowConfidence => Options.Value.LowConfidence;

    private void SetMode(bool call) => _call = call;

    private void Merge()
    {
        _error = null;
        try
        {
            var settings = Options.Value;
            var merge = _call
                ? PastedTranscript.MergeCall(_asr ?? string.Empty, _remoteAsr ?? string.Empty, _diarization, _removeEcho, settings)
                : PastedTranscript.Merge(_asr ?? string.Empty, _diarization, settings.ToMergeOptions(), settings.MaxWords);
            _merge = merge;
            _srtLink = DataLink("application/x-subrip", TranscriptWriter.Srt(merge.Result));
            _vttLink = DataLink("text/vtt", TranscriptWriter.WebVtt(merge.Result));
        }
        catch (TranscriptFormatException ex)
        {
            _merge = null;
            _error = ex.Message;
        }
    }

    private void LoadExample()
    {
        _asr = ExampleTranscript;
        _diarization = ExampleDiarization;
        Merge();
    }

    private async Task UploadAsrAsync(IBrowserFile? file) => _asr = await ReadAsync(file) ?? _asr;

    private async Task UploadRemoteAsrAsync(IBrowserFile? file) => _remoteAsr = await ReadAsync(file) ?? _remoteAsr;

    private async Task UploadDiarizationAsync(IBrowserFile? file) => _diarization = await ReadAsync(file) ?? _diarization;

    private async Task<string?> ReadAsync(IBrowserFile? file)
    {
        if (file is null)
        {
            return null;
        }

        try
        {
            await using var stream = file.OpenReadStream(MaxUpload);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            _error = null;
            return await reader.ReadToEndAsync();
        }
        catch (IOException ex)
        {
            _error = $"{file.Name} could not be read: {ex.Message}";
            return null;
        }
    }

    private string Summary(PastedMerge merge)
    {
        var words = merge.Result.Words;
        var unassigned = words.Count(w => w.Speaker is null);
        var source = merge.IsCall
            ? string.Create(CultureInfo.InvariantCulture, $"{words.Count(w => w.Channel == 0)} words on channel 0 and {words.Count(w => w.Channel == 1)} on channel 1 from {merge.AsrFormat}, channel-1 speakers from {merge.SpeakerSource}")
            : string.Create(CultureInfo.InvariantCulture, $"{words.Count} words from {merge.AsrFormat}, speakers from {merge.SpeakerSource}");
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{source}: {merge.Speakers.Count} speakers, {merge.Result.Utterances.Count} utterances, {merge.LowConfidenceCount(LowConfidence)} words below {LowConfidence:0.##} confidence, {unassigned} without a speaker");
        return merge.Result.DroppedSegments > 0 ? $"{text}; {merge.Result.DroppedSegments} unusable diarization segments ignored." : $"{text}.";
    }

    private string SpeakerStyle(string? speaker)
    {
        var index = speaker is null || _merge is null ? -1 : IndexOf(_merge.Speakers, speaker);
        var colour = index < 0 ? "#757575" : Palette[index % Palette.Length];
        return $"background-color: {colour};";
    }

    private static int IndexOf(IReadOnlyList<string> speakers, string speaker)
    {
        for (var i = 0; i < speakers.Count; i++)
        {
            if (string.Equals(speakers[i], speaker, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static string Describe(LabelledWord word)
    {
        var times = word.Start is { } start ? string.Create(CultureInfo.InvariantCulture, $"{start:0.000}-{word.End:0.000} s") : "no time";
        var text = string.Create(CultureInfo.InvariantCulture, $"{times}, {AudioEndpoints.MethodName(word.Method)}, confidence {word.Confidence:0.00}");
        if (word.Reason is { } reason)
        {
            text += $", {reason}";
        }

        return AudioEndpoints.RepairNames(word.Repairs) is { } repairs ? $"{text} ({string.Join(", ", repairs)})" : text;
    }

    private static string Clock(double seconds) => TimeSpan.FromSeconds(Math.Floor(seconds)).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);

    private static string DataLink(string mediaType, string content) => $"data:{mediaType};charset=utf-8;base64,{Convert.ToBase64String(Encoding.UTF8.GetBytes(content))}";

    /// <summary>Two speakers, pocketsphinx-style word times; the first turn ends inside "today", the second inside the last "you".</summary>
    internal const string ExampleTranscript = """
        {"task":"transcribe","language":"english","duration":6.0,"text":"hello how are you today i am fine thank you",
         "words":[{"word":"hello","start":0.52,"end":0.82},{"word":"how","start":0.83,"end":0.91},{"word":"are","start":0.92,"end":1.16},
                  {"word":"you","start":1.17,"end":1.28},{"word":"today","start":1.29,"end":1.68},{"word":"i","start":2.14,"end":2.28},
                  {"word":"am","start":2.29,"end":2.47},{"word":"fine","start":2.48,"end":2.80},{"word":"thank","start":2.81,"end":3.24},
                  {"word":"you","start":3.25,"end":3.39}]}
        """;

    internal const string ExampleDiarization = """
        SPEAKER call 1 0.500 0.950 <NA> <NA> SPEAKER_00 <NA> <NA>
        SPEAKER call 1 2.160 1.140 <NA> <NA> SPEAKER_01 <NA> <NA>
        """;
}
