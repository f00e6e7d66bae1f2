using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Scrub;
using SparkControl.Core.Audio.Transcripts;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>
/// PII redaction as background tasks: <c>POST /api/scrub</c> (<c>{"text":"..."}</c> or <c>{"transcript":{...}}</c> in
/// the shape label-merge answers) and <c>POST /api/transcripts/{id}/scrub</c> answer 202 <c>{"id","status"}</c>;
/// <c>GET /api/scrub/{id}</c> gives the redacted text or transcript and the counts by kind. Task ids are checked
/// before anything looks them up and are never echoed; the names list is at <c>/api/scrub/names</c>.
/// </summary>
public static class ScrubEndpoints
{
    public sealed record ScrubBody(string? Text, TranscriptBody? Transcript);

    public sealed record TranscriptBody(AudioEndpoints.WordView[]? Words, AudioEndpoints.UtteranceView[]? Utterances);

    public sealed record JobScrubBody(bool? KeepOriginal);

    public sealed record NamesBody(string[]? Names);

    public sealed record TaskView(
        string Id, string Status, DateTimeOffset CreatedAt,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Job,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AudioEndpoints.LabelMergeView? Transcript,
        IReadOnlyDictionary<string, int> Counts,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? KeptOriginal,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

    public sealed record StartedView(string Id, string Status);

    public static IEndpointRouteBuilder MapScrub(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/scrub").WithTags("Scrub");
        // The tasks audit themselves (what was scrubbed, never the text).
        group.MapPost("/", StartAsync).RequireAuthorization(AccessPolicies.Operator).WithMetadata(NotAudited.Instance);
        group.MapGet("/names", async (ScrubNames names, CancellationToken cancellationToken) => TypedResults.Ok(new NamesBody([.. await names.GetAsync(cancellationToken)])))
            .RequireAuthorization(AccessPolicies.Operator);
        group.MapPut("/names", async (NamesBody body, ScrubNames names, CancellationToken cancellationToken) =>
                TypedResults.Ok(new NamesBody([.. await names.SetAsync(body.Names ?? throw new ValidationFailedException([new FieldError("names", "send {\"names\":[...]}")]), cancellationToken)])))
            .RequireAuthorization(AccessPolicies.Operator);
        group.MapGet("/{id}", (string id, HttpContext context, ScrubTasks tasks) => TypedResults.Ok(View(Owned(context, tasks, id))))
            .RequireAuthorization(AccessPolicies.Viewer).ValidateRouteValues(("id", TaskId));
        endpoints.MapPost("/api/transcripts/{id}/scrub", (string id, JobScrubBody? body, HttpContext context, TranscriptJobs jobs, ScrubTasks tasks) =>
            {
                var job = TranscriptEndpoints.Owned(context, jobs, id);
                // No body keeps the original: replacing it cannot be undone, so it is asked for, never assumed.
                var task = tasks.StartJob(job, AccessPolicies.ActorOf(context.User), body?.KeepOriginal ?? true, AccessPolicies.AuditActorOf(context));
                return TypedResults.Accepted($"/api/scrub/{task.Id}", new StartedView(task.Id, Status(task.Status)));
            })
            .WithTags("Transcripts").RequireAuthorization(AccessPolicies.Operator).ValidateRouteValues(("id", TranscriptEndpoints.JobId)).WithMetadata(NotAudited.Instance);
        return endpoints;
    }

    /// <summary>A scrub task's id: 16 lower-case hex digits. The message never repeats what was sent.</summary>
    public static string? TaskId(string value) =>
        value.Length == 16 && value.All(char.IsAsciiHexDigitLower) ? null : "is not a scrub task id (16 lower-case hex digits)";

    public static async Task<IResult> StartAsync(HttpContext context, ScrubTasks tasks, IOptions<AudioOptions> audio, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = audio.Value.MaxRequestBytes;
        }

        if (!context.Request.HasJsonContentType())
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Send JSON", detail: "POST /api/scrub takes application/json: {\"text\":\"...\"} or {\"transcript\":{...}}.");
        }

        var body = await context.Request.ReadFromJsonAsync<ScrubBody>(cancellationToken)
            ?? throw new ValidationFailedException([new FieldError("body", "send {\"text\":\"...\"} or {\"transcript\":{...}}")]);
        var owner = AccessPolicies.ActorOf(context.User);
        var actor = AccessPolicies.AuditActorOf(context);
        var task = (body.Text, body.Transcript) switch
        {
            ({ } text, null) => tasks.StartText(owner, text, actor),
            (null, { } transcript) => tasks.StartTranscript(owner, Transcript(transcript, out var isCall), isCall, actor),
            _ => throw new ValidationFailedException([new FieldError("body", "send exactly one of text and transcript")]),
        };
        return TypedResults.Accepted($"/api/scrub/{task.Id}", new StartedView(task.Id, Status(task.Status)));
    }

    public static ScrubTask Owned(HttpContext context, ScrubTasks tasks, string id) =>
        tasks.Find(id) is { } task && task.IsVisibleTo(AccessPolicies.ActorOf(context.User), TranscriptEndpoints.SeesAll(context))
            ? task
            : throw new KeyNotFoundException("No such scrub task (it may have expired after an hour, or belong to someone else).");

    public static string Status(ScrubStatus status) => status.ToString().ToLowerInvariant();

    public static TaskView View(ScrubTask task) => new(
        task.Id, Status(task.Status), task.CreatedAt, task.Job, task.Text,
        task.Transcript is { } transcript ? AudioEndpoints.View(transcript, task.IsCall) : null,
        task.Counts, task.Job is null ? null : task.KeptOriginal, task.Error);

    /// <summary>
    /// A transcript as label-merge answers it, back as a result: utterances name no word indices, so each takes the
    /// words of its channel and speaker that start inside it (what a phone number read over several words needs).
    /// </summary>
    private static LabelMergeResult Transcript(TranscriptBody body, out bool isCall)
    {
        var words = body.Words ?? [];
        var utterances = body.Utterances ?? [];
        if (words.Length + utterances.Length > 200_000 || words.Any(w => w?.Word is null) || utterances.Any(u => u?.Text is null))
        {
            throw new ValidationFailedException([new FieldError("transcript", "send words with word and utterances with text, at most 200,000 of them")]);
        }

        isCall = words.Any(w => w.Channel is not null) || utterances.Any(u => u.Channel is not null);
        var labelled = words.Select((w, i) => new LabelledWord(i, w.Word, w.Start, w.End, w.Speaker, w.Confidence, w.Margin, Enum.TryParse<AssignMethod>(w.Method, true, out var m) ? m : AssignMethod.Unassigned, w.Reason, WordRepairs.None)
        {
            Channel = w.Channel ?? 0,
            Dropped = w.Dropped,
        }).ToArray();
        // Each utterance takes its channel and speaker's words that start inside it: found by binary search on start.
        var bySpeaker = labelled.Where(w => !w.Dropped && w.Start is not null).GroupBy(w => (w.Channel, w.Speaker))
            .ToDictionary(g => g.Key, g => g.OrderBy(w => w.Start).ToArray());
        var grouped = utterances.Select(u =>
        {
            var channel = u.Channel ?? 0;
            if (!bySpeaker.TryGetValue((channel, u.Speaker), out var candidates))
            {
                return new Utterance(u.Speaker, u.Start, u.End, u.Text, u.Overlap, channel, []);
            }

            var first = LowerBound(candidates, u.Start);
            var inside = candidates.Skip(first).TakeWhile(w => w.Start <= u.End).Select(w => w.Index).Order();
            return new Utterance(u.Speaker, u.Start, u.End, u.Text, u.Overlap, channel, [.. inside]);
        }).ToArray();
        return new LabelMergeResult(labelled, grouped, 0);
    }

    private static int LowerBound(LabelledWord[] words, double start)
    {
        var (low, high) = (0, words.Length);
        while (low < high)
        {
            var middle = (low + high) / 2;
            (low, high) = words[middle].Start < start ? (middle + 1, high) : (low, middle);
        }

        return low;
    }
}
