using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Swaps;
using SparkControl.Core.Yaml;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Api;

/// <summary>
/// Turns the exceptions the panel's APIs can raise into problem-details JSON an operator can act on: never an
/// opaque 500, never a stack trace, never a secret.
/// </summary>
public sealed partial class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception is BadHttpRequestException or JsonException ? RequestProblems.Describe(httpContext, exception) : Describe(exception);
        if (problem is null)
        {
            LogUnexpected(httpContext.Request.Path, exception);
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Something went wrong",
                Detail = "The panel hit an unexpected error; its log has the details.",
            };
        }

        if (((exception as Core.Audio.Echo.EchoBusyException)?.RetryAfter ?? (exception as Core.Audio.Transcripts.TranscriptBusyException)?.RetryAfter) is { } retryAfter)
        {
            httpContext.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        // Messages can quote what a Spark printed: the last net before a secret reaches a client.
        problem.Detail = problem.Detail is null ? null : LogRedactor.Redact(problem.Detail);
        httpContext.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>
    /// An /api status with no body: routing answers a body in a Content-Type no endpoint reads with a bare 415 before
    /// any endpoint runs; it is told like the 415 that binding raises.
    /// </summary>
    public static Task WriteStatusAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var problem = http.Response.StatusCode == StatusCodes.Status415UnsupportedMediaType
            ? RequestProblems.Describe(http, new BadHttpRequestException("Unsupported Content-Type", StatusCodes.Status415UnsupportedMediaType))
            : new ProblemDetails { Status = http.Response.StatusCode };
        return http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem }).AsTask();
    }

    public static ProblemDetails? Describe(Exception exception) => exception switch
    {
        ValidationFailedException validation => new ValidationProblemDetails(validation.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()))
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request is not valid",
            Detail = string.Join("; ", validation.Errors.Select(e => e.Message)),
        },
        // What the request got wrong needs the request to say (see RequestProblems); here only the status, for the audit.
        BadHttpRequestException bad => new ProblemDetails { Status = bad.StatusCode, Title = "The request could not be read" },
        JsonException => new ProblemDetails { Status = StatusCodes.Status400BadRequest, Title = "The request could not be read" },
        StaleVersionException stale => new ProblemDetails
        {
            Status = StatusCodes.Status412PreconditionFailed,
            Title = "It changed since you read it",
            Detail = stale.Message,
            Extensions = { ["currentVersion"] = stale.CurrentVersion },
        },
        SwapConflictException conflict => new ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Title = "Another swap holds the Spark",
            Detail = conflict.Message,
            Extensions = { ["runningSwap"] = conflict.Running.Id, ["runningPhase"] = conflict.Running.Phase.ToString() },
        },
        SparkControl.Core.Sparks.SparkBusyException busy => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "The Spark is busy", Detail = busy.Message },
        Core.Audio.Echo.EchoBusyException busy => new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "Echo cancellation is busy", Detail = busy.Message },
        Core.Storage.StoreUnavailableException store => new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "The database is not available", Detail = store.Message },
        HostActionRefusedException refused => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "The host action was not started", Detail = refused.Message },
        Core.Catalog.DuplicateModelException duplicate => new ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Title = "The model is already in the catalog",
            Detail = $"{duplicate.Message} Send \"allowDuplicate\": true to add a copy anyway.",
            Extensions = { ["existingModel"] = duplicate.ExistingId },
        },
        SettingsConflictException conflict => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "Conflict", Detail = conflict.Message },
        Core.Audio.Transcripts.TranscriptBusyException busy => new ProblemDetails { Status = StatusCodes.Status429TooManyRequests, Title = "Too many transcription jobs", Detail = busy.Message },
        Core.Audio.Transcripts.TranscriptConflictException conflict => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "The transcript cannot go ahead", Detail = conflict.Message },
        Core.Audio.Sweep.SweepConflictException conflict => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "The sweep cannot go ahead", Detail = conflict.Message },
        Core.Access.AccessRefusedException refused => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "Refused", Detail = refused.Message },
        Core.Vectors.QdrantCallException qdrant => new ProblemDetails
        {
            Status = qdrant.Status switch
            {
                Grpc.Core.StatusCode.NotFound => StatusCodes.Status404NotFound,
                Grpc.Core.StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
                Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.DeadlineExceeded => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status502BadGateway,
            },
            Title = qdrant.Refused ? "Qdrant refused the panel" : qdrant.Unreachable ? "Qdrant did not answer" : "Qdrant could not do it",
            Detail = qdrant.Message,
        },
        Core.Vectors.Snapshots.SnapshotRefusedException refused => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "The snapshot action cannot go ahead", Detail = refused.Message },
        Core.Vectors.EmbeddingUnavailableException embedding => new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "The embedding model cannot embed now", Detail = embedding.Message },
        KeyNotFoundException missing => new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Not found", Detail = missing.Message },
        ConfigFileException file => new ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Title = $"{Path.GetFileName(file.File)} has problems",
            Detail = $"{file.File} has problems and was left as it is; fix them first: {string.Join("; ", file.Problems)}",
            Extensions = { ["path"] = file.File, ["problems"] = file.Problems.Select(p => new { p.Line, p.Message }).ToArray() },
        },
        DataDirectoryException data => new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "The data directory cannot be written",
            Detail = data.Message,
            Extensions = { ["path"] = data.FilePath },
        },
        HostKeyNotApprovedException key => new ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Title = key.Changed ? "The Spark's host key changed" : "The Spark's host key is not approved",
            Detail = key.Message,
            Extensions = { ["fingerprint"] = key.Fingerprint, ["pinnedFingerprint"] = key.PreviousFingerprint },
        },
        SparkUnreachableException unreachable => new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = $"{unreachable.Spark} cannot be reached", Detail = unreachable.Message },
        RemoteCommandTimeoutException timeout => new ProblemDetails { Status = StatusCodes.Status504GatewayTimeout, Title = "The Spark did not answer in time", Detail = timeout.Message },
        SparkCommandException command => new ProblemDetails { Status = StatusCodes.Status502BadGateway, Title = $"A command failed on {command.Spark}", Detail = command.Message },
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error answering {Path}")]
    private partial void LogUnexpected(PathString path, Exception exception);
}
