using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Maintenance;
using SparkControl.Core.Remote;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>The Spark itself: facts, memory and disks, limits re-applied, and host actions with streamed output.</summary>
public static class HostEndpoints
{
    public static IEndpointRouteBuilder MapHostEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/sparks/{name}").WithTags("Hosts").ValidateRouteValues(("name", v => Validators.Name(v, "name")));
        group.MapGet("/host", Host).RequireAuthorization(AccessPolicies.Viewer);
        group.MapPost("/reapply-patches", Reapply).RequireAuthorization(AccessPolicies.Admin);
        group.MapPost("/actions/{action}", RunAction).RequireAuthorization(AccessPolicies.Admin);
        group.MapGet("/actions/current", CurrentAction).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/actions/current/output", CurrentOutput).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/actions/apt-full-upgrade/preview", FullUpgradePreview).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/updates", Updates).RequireAuthorization(AccessPolicies.Viewer);
        return endpoints;
    }

    public static async Task<Ok<HostOverview>> Host(string name, HostOverviewReader reader, CancellationToken cancellationToken) =>
        TypedResults.Ok(await reader.ReadAsync(name, cancellationToken));

    public static async Task<Ok<IReadOnlyList<LimitChange>>> Reapply(string name, ServiceActions actions, HttpContext context, CancellationToken cancellationToken) =>
        TypedResults.Ok(await actions.ReapplyPatchesAsync(name, AccessPolicies.AuditActorOf(context), cancellationToken));

    /// <summary>
    /// Streams the action's output as plain text. Refusals (no passwordless sudo, a model still running on reboot
    /// without <c>?stopModelsFirst=true</c>) are a 409 problem before anything runs.
    /// </summary>
    public static async Task RunAction(string name, string action, bool? stopModelsFirst, int? confirmRemovals, HostActionService service, HttpContext context)
    {
        var parsed = HostActionNames.Parse(action) ?? throw new ValidationFailedException([new FieldError("action", $"action must be one of {string.Join(", ", HostActionNames.All.Select(a => a.ToRoute()))}")]);
        if (Validators.Count(confirmRemovals, "confirmRemovals") is { } invalid)
        {
            throw new ValidationFailedException([new FieldError("confirmRemovals", invalid)]);
        }

        await using var lines = service.RunAsync(name, parsed, stopModelsFirst == true, confirmRemovals, AccessPolicies.AuditActorOf(context), context.RequestAborted).GetAsyncEnumerator(context.RequestAborted);

        // The first step runs every check; a refusal surfaces here, while a problem response can still be sent.
        var hasLine = await lines.MoveNextAsync();
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(context.RequestAborted);
        try
        {
            while (hasLine)
            {
                await WriteLineAsync(context, lines.Current);
                hasLine = await lines.MoveNextAsync();
            }

            await WriteLineAsync(context, FinishedLine);
        }
        catch (Exception ex) when (ex is SparkCommandException or SparkUnreachableException or Core.Remote.RemoteCommandTimeoutException)
        {
            // The status line is already sent; the last line says how it ended.
            await WriteLineAsync(context, FailedPrefix + ex.Message);
        }
    }

    public sealed record PackageView(string Package, string? CurrentVersion, string? NewVersion);

    public sealed record FullUpgradePreviewView(IReadOnlyList<PackageView> Upgrades, IReadOnlyList<PackageView> Removals);

    /// <summary>What apt-get full-upgrade would do now (<c>apt-get -s</c>); start it with <c>?confirmRemovals=</c> the removals' count.</summary>
    public static async Task<Ok<FullUpgradePreviewView>> FullUpgradePreview(string name, HostUpdatesReader reader, CancellationToken cancellationToken)
    {
        var preview = await reader.PreviewFullUpgradeAsync(name, cancellationToken);
        return TypedResults.Ok(new FullUpgradePreviewView(
            [.. preview.Upgrades.Select(p => new PackageView(p.Package, p.CurrentVersion, p.NewVersion))],
            [.. preview.Removals.Select(p => new PackageView(p.Package, p.CurrentVersion, p.NewVersion))]));
    }

    /// <summary>Pending apt and firmware updates, and when each host action last ran, by whom, and how it ended.</summary>
    public static async Task<Ok<HostUpdates>> Updates(string name, HostUpdatesReader reader, CancellationToken cancellationToken) =>
        TypedResults.Ok(await reader.ReadAsync(name, cancellationToken));

    public sealed record HostActionView(string Action, DateTimeOffset? StartedAt, string Progress, int? ExitCode);

    /// <summary>The Spark's current or last apt-get run (it runs detached: it survives its viewer and a panel restart).</summary>
    public static async Task<Results<Ok<HostActionView>, NoContent>> CurrentAction(string name, HostActionService service, CancellationToken cancellationToken) =>
        await service.AttachAsync(name, cancellationToken) is { } state
            ? TypedResults.Ok(new HostActionView(state.Action.ToRoute(), state.StartedAt, state.Progress.ToString().ToLowerInvariant(), state.ExitCode))
            : TypedResults.NoContent();

    /// <summary>Re-attaches to the current or last apt-get run: its output from the first line, live, then how it ended.</summary>
    public static async Task CurrentOutput(string name, HostActionService service, HttpContext context)
    {
        if (await service.AttachAsync(name, context.RequestAborted) is null)
        {
            throw new KeyNotFoundException($"No host action has run on {name}.");
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(context.RequestAborted);
        try
        {
            await foreach (var line in service.WatchAsync(name, context.RequestAborted))
            {
                await WriteLineAsync(context, line);
            }

            await WriteLineAsync(context, FinishedLine);
        }
        catch (SparkCommandException ex)
        {
            await WriteLineAsync(context, FailedPrefix + ex.Message);
        }
    }

    /// <summary>The last line of a host action that ran to the end.</summary>
    public const string FinishedLine = "--- finished";

    /// <summary>The start of the last line of a host action that failed after its output began.</summary>
    public const string FailedPrefix = "--- failed: ";

    private static async Task WriteLineAsync(HttpContext context, string line)
    {
        await context.Response.WriteAsync(line + "\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
