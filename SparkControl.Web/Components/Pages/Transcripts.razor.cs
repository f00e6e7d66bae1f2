using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.Options;
using SparkControl.Core.Access;
using SparkControl.Core.Audio.Transcripts;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Pages;

/// <summary>
/// Uploads a call as a transcription job (the same checks and queue as <c>POST /api/transcripts</c>) and lists the
/// caller's jobs live (an admin sees everyone's), with progress and a way to cancel.
/// </summary>
public sealed partial class Transcripts
{
    private IBrowserFile? _call;
    private string? _diarization;
    private string? _speakers;
    private string? _language;
    private bool _echoCancel = true;
    private bool _referee = true;
    private bool _uploading;
    private double _uploaded;
    private string? _error;

    [Inject]
    public required TranscriptJobs Jobs { get; init; }

    [Inject]
    public required IOptionsMonitor<TranscriptOptions> Options { get; init; }

    [Inject]
    public required WorkerTranscriber Transcriber { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    private TranscriptBoard Board { get; set; } = new([]);

    private IEnumerable<TranscriptJob> Visible => Board.VisibleTo(Caller.Actor, Caller.May(AccessRole.Admin));

    protected override void OnInitialized()
    {
        Board = Jobs.Board.Value;
        Watch(Jobs.WatchAsync, board => Board = board.Value);
    }

    /// <summary>
    /// How the job will name the speakers, read by the same rules as the upload: shown under the form, so what the panel
    /// received is what the operator sees before starting.
    /// </summary>
    private string? SpeakerNames
    {
        get
        {
            if (string.IsNullOrWhiteSpace(_speakers))
            {
                return null;
            }

            try
            {
                var names = TranscriptRequestRules.Settings(null, null, null, null, _speakers, null).Speakers;
                var positional = names.Where(n => !n.Contains('=', StringComparison.Ordinal)).Zip(["local", "remote"], (name, side) => $"{side}: {name}");
                var renames = names.Where(n => n.Contains('=', StringComparison.Ordinal)).Select(n => n.Replace("=", " → ", StringComparison.Ordinal));
                return $"Speakers: {string.Join(", ", positional.Concat(renames))}";
            }
            catch (ValidationFailedException ex)
            {
                return string.Join("; ", ex.Errors.Select(e => e.Message));
            }
        }
    }

    /// <summary>The chosen call; null once its chip is cleared.</summary>
    private void OnCallChosen(IBrowserFile? file)
    {
        _error = null;
        _call = file;
    }

    private async Task OnDiarizationAsync(IBrowserFile? file)
    {
        _error = null;
        _diarization = null;
        if (file is null)
        {
            return;
        }

        if (file.Size > TranscriptRequestRules.MaxDiarizationChars)
        {
            _error = $"{file.Name} is {file.Size:N0} bytes; a diarization may be at most {TranscriptRequestRules.MaxDiarizationChars:N0}.";
            return;
        }

        using var reader = new StreamReader(file.OpenReadStream(TranscriptRequestRules.MaxDiarizationChars));
        _diarization = await reader.ReadToEndAsync(ComponentToken);
    }

    private async Task StartAsync()
    {
        Caller.Demand(AccessRole.Operator);
        if (_call is not { } call)
        {
            return;
        }

        _error = null;
        string? spooled = null;
        try
        {
            Jobs.CheckRoom(Caller.Actor);
            var settings = TranscriptRequestRules.Settings(_echoCancel.ToString(), _referee.ToString(), _language, null, _speakers, _diarization);
            var limits = Options.CurrentValue;
            Transcriber.ResolveModel(limits.Model);
            if (call.Size > limits.MaxUploadBytes)
            {
                throw new ValidationFailedException([new FieldError("file", $"{call.Name} is {call.Size:N0} bytes; the limit is {limits.MaxUploadBytes:N0} bytes (Transcripts:MaxUploadBytes)")]);
            }

            _uploading = true;
            (spooled, var head) = await CopyAsync(call, limits.MaxUploadBytes);
            var audio = TranscriptRequestRules.Audio(head, call.Size, call.Name, limits);
            var job = Jobs.Submit(Caller.Actor, spooled, audio, settings, Caller.AuditActor);
            spooled = null;
            Navigation.NavigateTo($"transcripts/{job.Id}");
        }
        catch (ValidationFailedException invalid)
        {
            _error = string.Join("; ", invalid.Errors.Select(x => $"{x.Field}: {x.Message}"));
        }
        catch (Exception ex) when (ex is TranscriptBusyException or TranscriptConflictException or IOException or UnauthorizedAccessException)
        {
            _error = ex is IOException or UnauthorizedAccessException ? $"The panel cannot store the call in {Jobs.AudioDirectory}: {Core.Storage.DataDirectory.Describe(ex)}." : ex.Message;
        }
        finally
        {
            _uploading = false;
            if (spooled is not null)
            {
                File.Delete(spooled);
            }
        }
    }

    /// <summary>Streams the browser's file to a spool file beside the jobs' audio, with progress; returns it and its first bytes.</summary>
    private async Task<(string Path, byte[] Head)> CopyAsync(IBrowserFile call, long limit)
    {
        var incoming = Path.Combine(Jobs.AudioDirectory, "incoming");
        Directory.CreateDirectory(incoming);
        var path = Path.Combine(incoming, $"{Guid.NewGuid():N}.upload");
        var head = new byte[Math.Min(TranscriptRequestRules.HeaderBytes, call.Size)];
        try
        {
            await using var source = call.OpenReadStream(limit, ComponentToken);
            await using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
            var buffer = new byte[64 * 1024];
            long copied = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, ComponentToken)) > 0)
            {
                if (copied < head.Length)
                {
                    buffer.AsSpan(0, (int)Math.Min(read, head.Length - copied)).CopyTo(head.AsSpan((int)copied));
                }

                await target.WriteAsync(buffer.AsMemory(0, read), ComponentToken);
                copied += read;
                var percent = 100.0 * copied / Math.Max(1, call.Size);
                if (percent - _uploaded >= 1)
                {
                    _uploaded = percent;
                    StateHasChanged();
                }
            }

            return (path, head);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    private void Cancel(string id)
    {
        Caller.Demand(AccessRole.Operator);
        if (Jobs.Find(id) is { } job && job.IsVisibleTo(Caller.Actor, Caller.May(AccessRole.Admin)))
        {
            Jobs.Cancel(id, Caller.AuditActor);
        }
    }

    private static string Describe(TranscriptAudio audio) =>
        $"{(audio.Channels == 2 ? "call" : "mono")}, {TimeSpan.FromSeconds(audio.DurationSeconds):h\\:mm\\:ss}";
}
