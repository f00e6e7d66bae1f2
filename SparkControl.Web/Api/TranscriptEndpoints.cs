using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Referee;
using SparkControl.Core.Audio.Transcripts;
using SparkControl.Core.Validation;
using SparkControl.Web.Gateway;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>
/// Transcription jobs: <c>POST /api/transcripts</c> takes a call (multipart: <c>file</c>, and optionally
/// <c>diarization</c>, <c>speakers</c>, <c>echoCancel</c>, <c>referee</c>, <c>language</c>, <c>model</c>) and answers
/// 202 with the job; <c>GET /api/transcripts/{id}</c> follows it and, with <c>?format=srt|vtt|text|json</c>, gives the
/// finished transcript. A job belongs to the caller who started it: others (but admins) are told it does not exist.
/// </summary>
public static class TranscriptEndpoints
{
    /// <summary>Multipart framing and the form's text fields (a diarization the largest) allowed on top of the file itself.</summary>
    private const long FormOverhead = TranscriptRequestRules.MaxDiarizationChars + (64L << 10);

    public sealed record SettingsView(bool EchoCancel, bool Referee, string? Language, string? Model, string[] Speakers, bool Diarization);

    public sealed record RefereeDecisionView(int Utterance, string Trigger, string? From, string? To, string Outcome, string? Reason, double? Confidence);

    public sealed record RefereeView(int Calls, int Disputed, string? Skipped, RefereeDecisionView[] Decisions);

    public sealed record ResultView(
        AudioEndpoints.WordView[] Words,
        AudioEndpoints.UtteranceView[] Utterances,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AudioEndpoints.EchoView? Echo,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RefereeView? Referee,
        string[] Notes,
        bool Scrubbed);

    public sealed record JobView(
        string Id, string Status, string Phase, double Progress, string? Detail, string? Error, string Owner, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt,
        string File, int Channels, int SampleRate, double DurationSeconds, int Resumes, SettingsView Settings,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ResultView? Result);

    public sealed record StartedView(string Id, string Status);

    public static IEndpointRouteBuilder MapTranscripts(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/transcripts").WithTags("Transcripts");
        // A machine API for uploads (curl, scripts); a browser's cross-site POST is refused by the origin check.
        group.MapPost("/", StartAsync).DisableAntiforgery().RequireAuthorization(AccessPolicies.Operator).WithMetadata(NotAudited.Instance);
        group.MapGet("/", (HttpContext context, TranscriptJobs jobs) =>
            TypedResults.Ok(jobs.Board.Value.VisibleTo(AccessPolicies.ActorOf(context.User), SeesAll(context)).Select(j => View(j, withResult: false)).ToArray()))
            .RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{id}", Get).RequireAuthorization(AccessPolicies.Viewer).ValidateRouteValues(("id", JobId));
        group.MapPost("/{id}/cancel", (string id, HttpContext context, TranscriptJobs jobs) =>
            {
                var job = Owned(context, jobs, id);
                return jobs.Cancel(job.Id, AccessPolicies.AuditActorOf(context))
                    ? Results.Accepted($"/api/transcripts/{job.Id}", View(jobs.Find(job.Id)!, withResult: false))
                    : throw new TranscriptConflictException($"Job {job.Id} has ended already ({job.Status.ToString().ToLowerInvariant()}).");
            })
            .RequireAuthorization(AccessPolicies.Operator).ValidateRouteValues(("id", JobId)).WithMetadata(NotAudited.Instance);
        group.MapDelete("/{id}", (string id, HttpContext context, TranscriptJobs jobs) =>
            {
                var job = Owned(context, jobs, id);
                jobs.Delete(job.Id, AccessPolicies.AuditActorOf(context));
                return TypedResults.NoContent();
            })
            .RequireAuthorization(AccessPolicies.Operator).ValidateRouteValues(("id", JobId)).WithMetadata(NotAudited.Instance);
        return endpoints;
    }

    /// <summary>A job id as <see cref="TranscriptJobs"/> makes them: 16 lower-case hex digits.</summary>
    public static string? JobId(string value) =>
        value.Length == 16 && value.All(char.IsAsciiHexDigitLower) ? null : "is not a transcript id (16 lower-case hex digits)";

    public static async Task<IResult> StartAsync(HttpContext context, TranscriptJobs jobs, WorkerTranscriber transcriber, IOptionsMonitor<TranscriptOptions> options, CancellationToken cancellationToken)
    {
        var owner = AccessPolicies.ActorOf(context.User);
        // Refused before one byte of the upload is read when the caller's or the panel's queue is full.
        jobs.CheckRoom(owner);
        var limits = options.CurrentValue;
        var (upload, error) = await AudioUpload.ReadAsync(context, limits.MaxUploadBytes + FormOverhead, Path.Combine(jobs.AudioDirectory, "incoming"), TranscriptRequestRules.MaxDiarizationChars);
        if (upload is null)
        {
            return Problem(error!);
        }

        await using (upload)
        {
            if (upload.Length > limits.MaxUploadBytes)
            {
                return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "The call is too large",
                    detail: $"The call is {upload.Length:N0} bytes; the limit is {limits.MaxUploadBytes:N0} bytes (Transcripts:MaxUploadBytes).");
            }

            string Field(string name) => upload.Fields.LastOrDefault(f => f.Key == name).Value;
            var settings = TranscriptRequestRules.Settings(Field("echoCancel"), Field("referee"), Field("language"), Field("model"), Field("speakers"), Field("diarization"));
            // A model no worker answers to is refused now (409), not after the call has waited its turn.
            transcriber.ResolveModel(settings.Model ?? limits.Model);
            var head = new byte[TranscriptRequestRules.HeaderBytes];
            int read;
            await using (var stream = upload.OpenRead())
            {
                read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
            }

            var audio = TranscriptRequestRules.Audio(head.AsSpan(0, read), upload.Length, upload.FileName, limits);
            var kept = await KeepAsync(upload, jobs.AudioDirectory, cancellationToken);
            if (kept is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The call cannot be stored",
                    detail: $"The panel cannot store the call in {jobs.AudioDirectory}: the disk is full or read-only. Free space there or fix its permissions, then retry.");
            }

            try
            {
                var job = jobs.Submit(owner, kept, audio, settings, AccessPolicies.AuditActorOf(context));
                kept = null;
                return TypedResults.Accepted($"/api/transcripts/{job.Id}", new StartedView(job.Id, Status(job.Status)));
            }
            finally
            {
                // Not taken (the queue filled meanwhile, the move failed): the copy goes, not into the data directory for ever.
                if (kept is not null)
                {
                    File.Delete(kept);
                }
            }
        }
    }

    /// <summary>The job, or with <c>format</c> its transcript as a download (409 before it is done).</summary>
    public static IResult Get(string id, string? format, HttpContext context, TranscriptJobs jobs)
    {
        var job = Owned(context, jobs, id);
        if (string.IsNullOrEmpty(format))
        {
            return TypedResults.Ok(View(job, withResult: true));
        }

        var chosen = format.ToLowerInvariant();
        if (chosen != "json" && !TranscriptWriter.TextFormats.Contains(chosen))
        {
            throw new ValidationFailedException([new FieldError("format", "format must be json, srt, vtt or text")]);
        }

        if (job is not { Status: TranscriptStatus.Done, Result: { } result })
        {
            throw new TranscriptConflictException($"Job {job.Id} is {Status(job.Status)}; its transcript can be downloaded once it is done.");
        }

        var name = $"transcript-{job.Id}";
        return TranscriptWriter.Write(result.Transcript, chosen) is { } written
            ? Results.File(Encoding.UTF8.GetBytes(written.Text), written.ContentType + "; charset=utf-8", $"{name}.{written.Extension}")
            : Results.File(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(Result(result, job.IsCall), Json)), "application/json", $"{name}.json");
    }

    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);

    /// <summary>The job when the caller may see it (its owner, or an admin); otherwise the same 404 as for no job at all.</summary>
    public static TranscriptJob Owned(HttpContext context, TranscriptJobs jobs, string id) =>
        jobs.Find(id) is { } job && job.IsVisibleTo(AccessPolicies.ActorOf(context.User), SeesAll(context))
            ? job
            : throw new KeyNotFoundException("No such transcript job (or it belongs to someone else).");

    public static bool SeesAll(HttpContext context) => AccessPolicies.Allows(context.User, Core.Access.AccessRole.Admin);

    /// <summary>Copies the spooled upload (deleted when the request ends) to the file the job keeps; null when the disk refuses.</summary>
    private static async Task<string?> KeepAsync(AudioUpload upload, string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, $"{Guid.NewGuid():N}.upload");
        try
        {
            await using var source = upload.OpenRead();
            await using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
            await source.CopyToAsync(target, cancellationToken);
            return path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(path);
            return null;
        }
        catch (OperationCanceledException)
        {
            // The client left mid-copy.
            File.Delete(path);
            throw;
        }
    }

    private static IResult Problem(OpenAiError error) => error.Status == StatusCodes.Status400BadRequest
        ? throw new ValidationFailedException([new FieldError(error.Param ?? "file", error.Message)])
        : Results.Problem(statusCode: error.Status, title: error.Status == StatusCodes.Status413PayloadTooLarge ? "The call is too large" : "The call cannot be taken", detail: error.Message);

    public static string Status(TranscriptStatus status) => status.ToString().ToLowerInvariant();

    public static string Phase(TranscriptPhase phase) => phase switch
    {
        TranscriptPhase.EchoCancel => "echo-cancel",
        TranscriptPhase.EchoDedupe => "echo-dedupe",
        _ => phase.ToString().ToLowerInvariant(),
    };

    public static JobView View(TranscriptJob job, bool withResult) => new(
        job.Id, Status(job.Status), Phase(job.Phase), Math.Round(job.Progress, 3), job.Detail, job.Error, job.Owner, job.CreatedAt, job.StartedAt, job.EndedAt,
        job.Audio.FileName, job.Audio.Channels, job.Audio.SampleRate, job.Audio.DurationSeconds, job.Resumes,
        new SettingsView(job.Settings.EchoCancel, job.Settings.Referee, job.Settings.Language, job.Settings.Model, [.. job.Settings.Speakers], job.Settings.Diarization is not null),
        withResult && job.Result is { } result ? Result(result, job.IsCall) : null);

    public static ResultView Result(TranscriptResult result, bool isCall)
    {
        var merged = AudioEndpoints.View(result.Transcript, isCall);
        return new ResultView(merged.Words, merged.Utterances, merged.Echo, result.Referee is { } r ? Referee(r) : null, [.. result.Notes], result.Scrubbed);
    }

    private static RefereeView Referee(RefereeReport report) => new(
        report.Calls.Count, report.Disputed.Count, report.Skipped,
        [.. report.Decisions.Select(d => new RefereeDecisionView(d.Utterance, d.Trigger, d.From, d.To, Outcome(d.Outcome), d.Reason, d.ModelConfidence))]);

    public static string Outcome(DecisionOutcome outcome) => outcome == DecisionOutcome.OverBudget ? "over-budget" : outcome.ToString().ToLowerInvariant();
}
