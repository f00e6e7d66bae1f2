using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Swaps;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>Swaps: start (or join), preview, cancel, the latest per Spark, one by id, unload, and the history.</summary>
public static class SwapsEndpoints
{
    /// <summary><c>{"model":"qwen3-8b","spark":"spark-1"}</c>; <c>"spark":"cluster"</c> for a model on both Sparks.</summary>
    public sealed record SwapBody(string? Model, string? Spark, string[]? StopServices);

    public sealed record UnloadBody(string[]? StopServices);

    public static IEndpointRouteBuilder MapSwaps(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/swaps").WithTags("Swaps").ValidateRouteValues(("id", RouteValueValidation.SwapId));
        group.MapPost("/", Start).RequireAuthorization(AccessPolicies.Operator);
        group.MapPost("/preview", Preview).RequireAuthorization(AccessPolicies.Operator).WithMetadata(NotAudited.Instance);
        group.MapGet("/current", (SwapOrchestrator swaps) => TypedResults.Ok(swaps.Board.BySpark)).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/history", History).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{id}", Get).RequireAuthorization(AccessPolicies.Viewer);
        group.MapDelete("/{id}", Cancel).RequireAuthorization(AccessPolicies.Operator);
        endpoints.MapPost("/api/sparks/{name}/unload", Unload).RequireAuthorization(AccessPolicies.Operator).WithTags("Swaps").ValidateRouteValues(("name", v => Validators.Name(v, "name")));
        return endpoints;
    }

    public static Accepted<SwapStatus> Start(SwapBody body, SwapOrchestrator swaps, HttpContext context)
    {
        var request = Read(body.Model, body.Spark, body.StopServices, modelRequired: true, context);
        var status = swaps.Start(request);
        return TypedResults.Accepted($"/api/swaps/{status.Id}", status);
    }

    public static async Task<Ok<SwapPreview>> Preview(SwapBody body, SwapOrchestrator swaps, HttpContext context, CancellationToken cancellationToken) =>
        TypedResults.Ok(await swaps.PreviewAsync(Read(body.Model, body.Spark, body.StopServices, modelRequired: false, context), cancellationToken));

    public static Accepted<SwapStatus> Unload(string name, UnloadBody? body, SwapOrchestrator swaps, HttpContext context)
    {
        var request = Read(null, name, body?.StopServices, modelRequired: false, context);
        var status = swaps.Start(request);
        return TypedResults.Accepted($"/api/swaps/{status.Id}", status);
    }

    public static Ok<SwapStatus> Get(string id, SwapOrchestrator swaps) =>
        TypedResults.Ok(swaps.Find(id) ?? throw new KeyNotFoundException($"No swap has the id '{Validators.Printable(id)}'."));

    /// <summary>202 while the cancel is carried out; 409 for a swap that has already ended.</summary>
    public static Accepted<SwapStatus> Cancel(string id, SwapOrchestrator swaps, HttpContext context)
    {
        var swap = swaps.Find(id) ?? throw new KeyNotFoundException($"No swap has the id '{Validators.Printable(id)}'.");
        if (!swaps.Cancel(id, AccessPolicies.AuditActorOf(context)))
        {
            throw new Core.Storage.SettingsConflictException($"Swap {id} has already ended ({swap.Phase}); there is nothing to cancel.");
        }

        return TypedResults.Accepted($"/api/swaps/{id}", swaps.Find(id) ?? swap);
    }

    public static Ok<IReadOnlyList<SwapStatus>> History(string? model, string? spark, string? outcome, int? limit, SwapHistory history)
    {
        var errors = new List<FieldError>();
        if (model is not null && Validators.ModelId(model, "model") is { } badModel)
        {
            errors.Add(new FieldError("model", badModel));
        }

        if (spark is not null && spark != SwapTargets.Cluster && Validators.Name(spark, "spark") is { } badSpark)
        {
            errors.Add(new FieldError("spark", badSpark));
        }

        SwapPhase? phase = null;
        if (outcome is not null)
        {
            phase = Enum.TryParse<SwapPhase>(outcome, ignoreCase: true, out var parsed) && parsed.IsTerminal()
                ? parsed
                : null;
            if (phase is null)
            {
                errors.Add(new FieldError("outcome", $"outcome must be ready, failed, cancelled or interrupted, not '{Validators.Printable(outcome)}'"));
            }
        }

        if (limit is < 1 or > 10_000)
        {
            errors.Add(new FieldError("limit", $"limit must be between 1 and 10000, not {limit}"));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        if (!history.IsAvailable)
        {
            throw new Core.Storage.StoreUnavailableException(history.UnavailableReason!);
        }

        return TypedResults.Ok(history.Query(new SwapHistoryQuery(model, spark, phase, limit ?? 500)));
    }

    /// <summary>The shared validators on every field a client sends.</summary>
    private static SwapRequest Read(string? model, string? spark, string[]? stopServices, bool modelRequired, HttpContext context)
    {
        var errors = new List<FieldError>();
        if (model is null)
        {
            if (modelRequired)
            {
                errors.Add(new FieldError("model", "model is required: a catalog id (POST /api/sparks/{name}/unload unloads)"));
            }
        }
        else if (Validators.ModelId(model, "model") is { } badModel)
        {
            errors.Add(new FieldError("model", badModel));
        }

        if (spark != SwapTargets.Cluster && Validators.Name(spark, "spark") is { } badSpark)
        {
            errors.Add(new FieldError("spark", badSpark));
        }

        foreach (var service in stopServices ?? [])
        {
            if (Validators.Name(service, "stopServices") is { } badService)
            {
                errors.Add(new FieldError("stopServices", badService));
            }
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        return new SwapRequest(model, spark!, AccessPolicies.ActorOf(context.User)) { StopServices = [.. stopServices ?? []], RequesterAddress = context.Connection.RemoteIpAddress?.ToString() };
    }
}
