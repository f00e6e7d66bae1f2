using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Web.Model;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>Services: health, detail, actions, limits, logs (plain and streamed), and their definitions in services.yaml.</summary>
public static class ServicesEndpoints
{
    public sealed record LimitsBody(string? MemoryLimit);

    public static IEndpointRouteBuilder MapServices(this IEndpointRouteBuilder endpoints)
    {
        var definitions = endpoints.MapGroup("/api/services/definitions").WithTags("Services").ValidateRouteValues(("spark", v => Validators.Name(v, "spark")), ("name", v => Validators.Name(v, "name")));
        definitions.MapGet("/", (ServiceSettingsStore store) => TypedResults.Ok(store.Current.Services.Select(ServiceInput.FromDefinition).ToArray())).RequireAuthorization(AccessPolicies.Viewer);
        definitions.MapGet("/{spark}/{name}", GetDefinition).RequireAuthorization(AccessPolicies.Viewer);
        definitions.MapPost("/", AddDefinition).RequireAuthorization(AccessPolicies.Admin);
        definitions.MapPut("/{spark}/{name}", UpdateDefinition).RequireAuthorization(AccessPolicies.Admin);
        definitions.MapDelete("/{spark}/{name}", RemoveDefinition).RequireAuthorization(AccessPolicies.Admin);

        var group = endpoints.MapGroup("/api/services").WithTags("Services").ValidateRouteValues(("spark", v => Validators.Name(v, "spark")), ("name", v => Validators.Name(v, "name")));
        group.MapGet("/", (HealthMonitor health) => TypedResults.Ok(health.Current.Value.Sparks.SelectMany(s => s.Services).Select(ServiceInput.View).ToArray())).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{spark}/{name}", Detail).RequireAuthorization(AccessPolicies.Viewer);
        group.MapPost("/{spark}/{name}/{action:regex(^(restart|stop|start)$)}", Act).RequireAuthorization(AccessPolicies.Operator);
        group.MapPut("/{spark}/{name}/limits", SetLimits).RequireAuthorization(AccessPolicies.Operator);
        group.MapGet("/{spark}/{name}/logs", Logs).RequireAuthorization(AccessPolicies.Operator);
        group.MapGet("/{spark}/{name}/logs/stream", StreamLogs).RequireAuthorization(AccessPolicies.Operator);
        return endpoints;
    }

    public static async Task<Ok<ServiceInput.ServiceDetailView>> Detail(string spark, string name, ServiceDetailReader reader, CancellationToken cancellationToken) =>
        TypedResults.Ok(ServiceInput.Detail(await reader.ReadAsync(spark, name, cancellationToken)));

    public static async Task<NoContent> Act(string spark, string name, string action, ServiceActions actions, HttpContext context, CancellationToken cancellationToken)
    {
        var task = action switch
        {
            "restart" => actions.RestartAsync(spark, name, AccessPolicies.AuditActorOf(context), cancellationToken),
            "stop" => actions.StopAsync(spark, name, AccessPolicies.AuditActorOf(context), cancellationToken),
            _ => actions.StartAsync(spark, name, AccessPolicies.AuditActorOf(context), cancellationToken),
        };
        await task;
        return TypedResults.NoContent();
    }

    public static async Task<Ok<LimitChange>> SetLimits(string spark, string name, LimitsBody body, ServiceActions actions, HttpContext context, CancellationToken cancellationToken)
    {
        if (Validators.MemoryLimit(body.MemoryLimit, out var bytes) is { } problem)
        {
            throw new ValidationFailedException([new FieldError("memoryLimit", problem)]);
        }

        return TypedResults.Ok(await actions.SetMemoryLimitAsync(spark, name, bytes, AccessPolicies.AuditActorOf(context), cancellationToken));
    }

    /// <summary>The last lines (<c>?tail=200</c>) or those since a time (<c>?since=2026-11-26T10:00:00Z</c>), secrets redacted.</summary>
    public static async Task<ContentHttpResult> Logs(string spark, string name, int? tail, DateTimeOffset? since, ServiceActions actions, CancellationToken cancellationToken)
    {
        CheckTail(tail);
        var (entry, _, container) = actions.Resolve(spark, name);
        var lines = await entry.Host.GetLogsAsync(container, new LogQuery(Math.Max(tail ?? 500, 1), since), cancellationToken);
        return TypedResults.Text(string.Join('\n', lines.Select(LogRedactor.Redact)) + "\n", "text/plain; charset=utf-8");
    }

    /// <summary>
    /// The container's log as a plain-text stream (one follower per container, shared with every other viewer), one
    /// redacted line at a time, until the client goes away or the log ends; a stream that fails ends with a line saying why.
    /// </summary>
    public static async Task StreamLogs(string spark, string name, int? tail, ServiceActions actions, HttpContext context)
    {
        CheckTail(tail);
        var (entry, _, container) = actions.Resolve(spark, name);
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(context.RequestAborted);
        try
        {
            await foreach (var line in entry.Host.WatchLogsAsync(container, tail ?? 100, context.RequestAborted))
            {
                await context.Response.WriteAsync(LogRedactor.Redact(line) + "\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (LogStreamFailure.Is(ex))
        {
            // The status went out with the first line, so it cannot say this: the last line does, and the response ends
            // as a stream ends, not aborted (a client sees why instead of "the response ended prematurely").
            await context.Response.WriteAsync(LogStreamFailure.Describe(ex) + "\n", context.RequestAborted);
        }
    }

    private static void CheckTail(int? tail)
    {
        if (LogQuery.CheckTail(tail) is { } problem)
        {
            throw new ValidationFailedException([new FieldError("tail", problem)]);
        }
    }

    /// <summary>One service's definition, with its version as the ETag (send it back as If-Match when changing it).</summary>
    public static Ok<ServiceInput.ServiceBody> GetDefinition(string spark, string name, ServiceSettingsStore store, HttpContext context)
    {
        var service = store.Find($"{spark}/{name}") ?? throw new KeyNotFoundException($"The service {spark}/{name} does not exist.");
        context.Response.Headers.ETag = EntityTags.Quote(store.Version(service));
        return TypedResults.Ok(ServiceInput.FromDefinition(service));
    }

    public static async Task<Created<ServiceInput.ServiceBody>> AddDefinition(ServiceInput.ServiceBody body, ServiceSettingsStore store, MemoryCapCheck caps, HttpContext context, CancellationToken cancellationToken)
    {
        var service = await store.AddAsync(await CheckedAsync(ServiceInput.ToDefinition(body), caps, cancellationToken), cancellationToken);
        context.Response.Headers.ETag = EntityTags.Quote(store.Version(service));
        return TypedResults.Created($"/api/services/definitions/{service.Spark}/{service.Name}", ServiceInput.FromDefinition(service));
    }

    /// <summary>Replaces a service's definition; with If-Match, only if it is still that version (else 412).</summary>
    public static async Task<Ok<ServiceInput.ServiceBody>> UpdateDefinition(string spark, string name, ServiceInput.ServiceBody body, ServiceSettingsStore store, MemoryCapCheck caps, HttpContext context, CancellationToken cancellationToken)
    {
        var definition = await CheckedAsync(ServiceInput.ToDefinition(body with { Spark = body.Spark ?? spark, Name = body.Name ?? name }), caps, cancellationToken);
        var service = await store.UpdateAsync($"{spark}/{name}", definition, EntityTags.IfMatch(context), cancellationToken);
        context.Response.Headers.ETag = EntityTags.Quote(store.Version(service));
        return TypedResults.Ok(ServiceInput.FromDefinition(service));
    }

    /// <summary>The definition, once its memory cap fits its Spark (the Settings form asks the same).</summary>
    private static async Task<ServiceDefinition> CheckedAsync(ServiceDefinition service, MemoryCapCheck caps, CancellationToken cancellationToken) =>
        await caps.CheckAsync(service, cancellationToken) is { } tooLarge ? throw new ValidationFailedException([tooLarge]) : service;

    public static async Task<NoContent> RemoveDefinition(string spark, string name, ServiceSettingsStore store, HttpContext context, CancellationToken cancellationToken)
    {
        await store.RemoveAsync($"{spark}/{name}", EntityTags.IfMatch(context), cancellationToken);
        return TypedResults.NoContent();
    }
}
