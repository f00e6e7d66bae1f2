using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Audio.Sweep;
using SparkControl.Core.Gateway;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>Concurrency sweeps of transcription workers: start (with shipped speech or uploaded files), watch, cancel, write the knee.</summary>
public static class AudioSweepEndpoints
{
    /// <summary>Files a sweep takes: short test speech, not recordings of hours.</summary>
    public const long MaxFileBytes = 25L << 20;

    public const int MaxFiles = 8;

    public sealed record SettingsView(int MaxConcurrency, int RequestsPerStep, double P95BoundSeconds);

    public sealed record SweepView(
        long Id, string Spark, string Service, string Model, string Status, DateTimeOffset StartedAt, string StartedBy, DateTimeOffset? EndedAt,
        int? Knee, string? StopReason, string? Error, DateTimeOffset? AppliedAt, long GatewayRequestsDuring, SettingsView Settings, string[] Files,
        SweepProgress? Progress, double Fraction, SweepStep[] Steps);

    public sealed record WorkerView(string Spark, string Service, string Model, bool Healthy, int MaxInFlight);

    public sealed record StartBody(string? Spark, string? Service, int? MaxConcurrency, int? RequestsPerStep, double? P95BoundSeconds);

    public static IEndpointRouteBuilder MapAudioSweeps(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/audio/sweeps").WithTags("Audio");
        group.MapGet("/", (AudioSweeps sweeps) => TypedResults.Ok(sweeps.Board.Value.Runs.Select(View).ToArray())).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/workers", (AudioSweeps sweeps) => TypedResults.Ok(sweeps.Workers().Select(w => new WorkerView(w.Spark, w.Service, w.Models[0].Name, w.Healthy, w.MaxInFlight)).ToArray()))
            .RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{id:long}", (long id, AudioSweeps sweeps) => TypedResults.Ok(View(sweeps.Find(id) ?? throw new KeyNotFoundException($"No sweep {id}."))))
            .RequireAuthorization(AccessPolicies.Viewer);
        // The sweeps audit themselves (start, cancel, apply) with what they did.
        group.MapPost("/", StartAsync).DisableAntiforgery().RequireAuthorization(AccessPolicies.Operator).WithMetadata(NotAudited.Instance);
        group.MapPost("/{id:long}/cancel", (long id, AudioSweeps sweeps, HttpContext context) => sweeps.Cancel(id, AccessPolicies.AuditActorOf(context))
                ? Results.Accepted($"/api/audio/sweeps/{id}")
                : throw new SweepConflictException($"Sweep {id} is not running."))
            .RequireAuthorization(AccessPolicies.Operator).WithMetadata(NotAudited.Instance);
        group.MapPost("/{id:long}/apply", async (long id, AudioSweeps sweeps, HttpContext context, CancellationToken cancellationToken) =>
                TypedResults.Ok(View(await sweeps.ApplyAsync(id, AccessPolicies.AuditActorOf(context), cancellationToken))))
            .RequireAuthorization(AccessPolicies.Admin).WithMetadata(NotAudited.Instance);
        return endpoints;
    }

    /// <summary>JSON (the shipped speech) or multipart/form-data (the same fields, and up to eight audio files named file).</summary>
    public static async Task<Accepted<SweepView>> StartAsync(HttpContext context, AudioSweeps sweeps, CancellationToken cancellationToken)
    {
        var (body, files) = context.Request.HasFormContentType
            ? await ReadFormAsync(context, cancellationToken)
            : (await context.Request.ReadFromJsonAsync<StartBody>(cancellationToken) ?? throw Invalid("body", "send a JSON object with spark and service"), (List<SweepFile>?)null);
        if (Validators.Name(body.Spark, "spark") is { } sparkProblem)
        {
            throw Invalid("spark", sparkProblem);
        }

        if (Validators.Name(body.Service, "service") is { } serviceProblem)
        {
            throw Invalid("service", serviceProblem);
        }

        var settings = SweepSettings.From(body.MaxConcurrency, body.RequestsPerStep, body.P95BoundSeconds);
        var run = sweeps.Start(body.Spark!, body.Service!, settings, files, AccessPolicies.AuditActorOf(context));
        return TypedResults.Accepted($"/api/audio/sweeps/{run.Id}", View(run));
    }

    private static async Task<(StartBody, List<SweepFile>)> ReadFormAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var limit = (MaxFileBytes * MaxFiles) + (64 * 1024);
        if (context.Request.ContentLength > limit)
        {
            throw Invalid("file", $"the upload is {context.Request.ContentLength:N0} bytes; at most {MaxFiles} files of {MaxFileBytes:N0} bytes each");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        var form = await context.Request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions { MultipartBodyLengthLimit = limit, ValueCountLimit = 16 }, cancellationToken);
        if (form.Files.Count > MaxFiles)
        {
            throw Invalid("file", $"at most {MaxFiles} files, not {form.Files.Count}");
        }

        var files = new List<SweepFile>();
        foreach (var file in form.Files)
        {
            files.Add(await ReadAudioAsync(file, cancellationToken));
        }

        return (new StartBody(form["spark"], form["service"], Int(form, "maxConcurrency"), Int(form, "requestsPerStep"), Number(form, "p95BoundSeconds")), files);
    }

    /// <summary>An uploaded sweep file, capped and recognised as audio by its first bytes (the same check as the gateway's).</summary>
    public static async Task<SweepFile> ReadAudioAsync(IFormFile file, CancellationToken cancellationToken)
    {
        if (file.Length > MaxFileBytes)
        {
            throw Invalid("file", $"'{Validators.Printable(file.FileName)}' is {file.Length:N0} bytes; a sweep file may be at most {MaxFileBytes:N0}");
        }

        var bytes = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(bytes, cancellationToken);
        }

        return AudioFormat.NotAudio(bytes, file.FileName) is { } notAudio ? throw Invalid("file", notAudio) : new SweepFile(Path.GetFileName(file.FileName), bytes);
    }

    private static int? Int(IFormCollection form, string name) =>
        Validators.WholeNumber(form[name].FirstOrDefault(), out var value, name) is { } error ? throw Invalid(name, error) : value;

    private static double? Number(IFormCollection form, string name) =>
        Validators.Number(form[name].FirstOrDefault(), out var value, name) is { } error ? throw Invalid(name, error) : value;

    public static SweepView View(SweepRun run) => new(
        run.Id, run.Spark, run.Service, run.Model, run.Status.ToString(), run.StartedAt, run.StartedBy, run.EndedAt, run.Knee, run.StopReason, run.Error, run.AppliedAt,
        run.GatewayRequestsDuring, new SettingsView(run.Settings.MaxConcurrency, run.Settings.RequestsPerStep, run.Settings.P95Bound.TotalSeconds), [.. run.Files],
        run.Progress, run.Fraction, [.. run.Steps]);

    private static ValidationFailedException Invalid(string field, string message) => new([new FieldError(field, message)]);
}
