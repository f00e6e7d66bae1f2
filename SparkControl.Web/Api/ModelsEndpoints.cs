using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Sparks;
using SparkControl.Web.Model;
using SparkControl.Core.Launch;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>The model catalog: list, add (Hugging Face or local), flags with If-Match, delete, launch command, disk, discovery.</summary>
public static class ModelsEndpoints
{
    public sealed record CommandView(string Model, string Spark, string Kind, string[] Argv, string Command, string[] Warnings);

    public sealed record CheckLocalBody(string? Spark, string? Path);

    public static IEndpointRouteBuilder MapModels(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/models").WithTags("Models").ValidateRouteValues(("id", v => Validators.ModelId(v, "id")));
        group.MapGet("/", List).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{id}", Get).RequireAuthorization(AccessPolicies.Viewer);
        group.MapPost("/", Add).RequireAuthorization(AccessPolicies.Admin);
        group.MapPost("/check-local", CheckLocal).RequireAuthorization(AccessPolicies.Admin).WithMetadata(NotAudited.Instance);
        group.MapPut("/{id}/flags", UpdateFlags).RequireAuthorization(AccessPolicies.Admin);
        group.MapPut("/{id}/idle", UpdateIdle).RequireAuthorization(AccessPolicies.Admin);
        group.MapDelete("/{id}", Remove).RequireAuthorization(AccessPolicies.Admin);
        group.MapGet("/{id}/command", Command).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{id}/disk", Disk).RequireAuthorization(AccessPolicies.Viewer);
        group.MapPost("/{id}/adapters/check", CheckAdapter).RequireAuthorization(AccessPolicies.Admin).WithMetadata(NotAudited.Instance);
        group.MapPost("/{id}/adapters", AttachAdapter).RequireAuthorization(AccessPolicies.Admin);
        group.MapDelete("/{id}/adapters/{name}", DetachAdapter).RequireAuthorization(AccessPolicies.Admin)
            .ValidateRouteValues(("name", v => Validators.ServedName(v, "name")));
        endpoints.MapPost("/api/sparks/{name}/discover", Discover).RequireAuthorization(AccessPolicies.Admin).WithTags("Models").ValidateRouteValues(("name", v => Validators.Name(v, "name")));
        return endpoints;
    }

    public static Ok<ModelInput.ModelView[]> List(ModelCatalog catalog, DiskSizeProbe disk) =>
        TypedResults.Ok(catalog.Current.Models.Select(m => ModelInput.View(m, disk.For(m.Id))).ToArray());

    public static Ok<ModelInput.ModelView> Get(string id, ModelCatalog catalog, DiskSizeProbe disk, HttpContext context)
    {
        var model = Find(catalog, id);
        context.Response.Headers.ETag = ETag(model);
        return TypedResults.Ok(ModelInput.View(model, disk.For(id)));
    }

    public static async Task<Created<ModelInput.ModelView>> Add(ModelInput.AddModelBody body, ModelRegistrar registrar, HttpContext context, CancellationToken cancellationToken)
    {
        var (added, usage) = await registrar.AddAsync(body, cancellationToken);
        context.Response.Headers.ETag = ETag(added);
        return TypedResults.Created($"/api/models/{added.Id}", ModelInput.View(added, usage));
    }

    public static async Task<Ok<LocalModelCheck>> CheckLocal(CheckLocalBody body, ModelRegistrar registrar, CancellationToken cancellationToken) =>
        TypedResults.Ok(await registrar.CheckAsync(body.Spark ?? string.Empty, body.Path ?? string.Empty, cancellationToken));

    /// <summary>Sets or clears the model's idle unload time (If-Match required, as for flags).</summary>
    public static async Task<Results<Ok<ModelInput.ModelView>, ProblemHttpResult>> UpdateIdle(
        string id, ModelInput.IdleBody body, [FromHeader(Name = "If-Match")] string? ifMatch, CatalogStore store, DiskSizeProbe disk, HttpContext context, CancellationToken cancellationToken)
    {
        Find(store.Current, id);
        if (string.IsNullOrEmpty(ifMatch))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status428PreconditionRequired, title: "If-Match is required",
                detail: "Send If-Match with the ETag from GET /api/models/{id}, so a concurrent edit is not overwritten.");
        }

        var after = body.IdleUnloadAfterSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var updated = await store.UpdateIdleAsync(id, after, EntityTags.Unquote(ifMatch), cancellationToken);
        context.Response.Headers.ETag = ETag(updated);
        return TypedResults.Ok(ModelInput.View(updated, disk.For(id)));
    }

    public static async Task<Results<Ok<ModelInput.ModelView>, ProblemHttpResult>> UpdateFlags(
        string id, ModelInput.FlagsBody body, [FromHeader(Name = "If-Match")] string? ifMatch, CatalogStore store, DiskSizeProbe disk, HttpContext context, CancellationToken cancellationToken)
    {
        Find(store.Current, id);
        if (string.IsNullOrEmpty(ifMatch))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status428PreconditionRequired, title: "If-Match is required",
                detail: "Send If-Match with the ETag from GET /api/models/{id}, so a concurrent edit is not overwritten.");
        }

        var updated = await store.UpdateFlagsAsync(id, ModelInput.ToFlags(body), EntityTags.Unquote(ifMatch), cancellationToken);
        context.Response.Headers.ETag = ETag(updated);
        return TypedResults.Ok(ModelInput.View(updated, disk.For(id)));
    }

    public static async Task<NoContent> Remove(string id, [FromHeader(Name = "If-Match")] string? ifMatch, CatalogStore store, CancellationToken cancellationToken)
    {
        await store.RemoveAsync(id, string.IsNullOrEmpty(ifMatch) ? null : EntityTags.Unquote(ifMatch), cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<Ok<CommandView>> Command(string id, string? spark, ModelCatalog catalog, SparkFleet fleet, LaunchPlanner planner, CancellationToken cancellationToken)
    {
        var model = Find(catalog, id);
        var target = PickSpark(model, spark, fleet.Current);
        var plan = await planner.PlanAsync(model, target, cancellationToken);
        return TypedResults.Ok(new CommandView(model.Id, target.Name, plan.Kind.ToString(), [.. plan.Argv], plan.CommandLine, [.. plan.Blockers, .. plan.Warnings]));
    }

    public static async Task<Ok<ModelInput.DiskView[]>> Disk(string id, bool? refresh, ModelCatalog catalog, DiskSizeProbe disk, CancellationToken cancellationToken)
    {
        var model = Find(catalog, id);
        var usage = refresh == true || disk.For(id).Count == 0 ? await disk.MeasureAsync(model, cancellationToken) : disk.For(id);
        return TypedResults.Ok(ModelInput.View(model, usage).Disk);
    }

    public static async Task<Ok<IReadOnlyList<DiscoveredModel>>> Discover(string name, SparkFleet fleet, ModelCatalog catalog, CancellationToken cancellationToken)
    {
        var spark = fleet.Current.Find(name) ?? throw new KeyNotFoundException($"No Spark is named '{name}'.");
        return TypedResults.Ok(await ModelDiscovery.ScanAsync(spark.Host, spark.Definition, catalog.Current, cancellationToken));
    }

    /// <summary>The Spark a command is shown for: the one asked for, a local model's own, or the first configured.</summary>
    /// <summary>What attaching or detaching an adapter did: the model now and, when it served, the swap that starts it again.</summary>
    public sealed record AdapterChangeView(ModelInput.ModelView Model, string? SwapId, string? SwapLocation, string? Notice);

    public static async Task<Ok<LoraAdapterCheck>> CheckAdapter(string id, AdapterCheckBody body, AdapterRegistrar adapters, CancellationToken cancellationToken) =>
        TypedResults.Ok(await adapters.CheckAsync(id, body, cancellationToken));

    public static async Task<Created<AdapterChangeView>> AttachAdapter(
        string id, AdapterBody body, AdapterRegistrar adapters, DiskSizeProbe disk, HttpContext context, CancellationToken cancellationToken)
    {
        var change = await adapters.AttachAsync(id, body, EntityTags.IfMatch(context), Requester(context), cancellationToken);
        context.Response.Headers.ETag = ETag(change.Model);
        return TypedResults.Created($"/api/models/{id}", View(change, disk));
    }

    public static async Task<Ok<AdapterChangeView>> DetachAdapter(
        string id, string name, AdapterRegistrar adapters, DiskSizeProbe disk, HttpContext context, CancellationToken cancellationToken)
    {
        var change = await adapters.DetachAsync(id, name, EntityTags.IfMatch(context), Requester(context), cancellationToken);
        context.Response.Headers.ETag = ETag(change.Model);
        return TypedResults.Ok(View(change, disk));
    }

    private static SwapRequester Requester(HttpContext context) => new(AccessPolicies.ActorOf(context.User), context.Connection.RemoteIpAddress?.ToString());

    private static AdapterChangeView View(AdapterChange change, DiskSizeProbe disk) =>
        new(ModelInput.View(change.Model, disk.For(change.Model.Id)), change.Swap?.Id, change.Swap is { } swap ? $"/api/swaps/{swap.Id}" : null, change.Notice);

    public static SparkEntry PickSpark(ModelDefinition model, string? spark, FleetConfiguration fleet)
    {
        if (!string.IsNullOrEmpty(spark))
        {
            return fleet.Find(spark) ?? throw new ValidationFailedException([new FieldError("spark", $"No Spark is named '{spark}'.")]);
        }

        return DiskSizeProbe.SparksFor(model, fleet).FirstOrDefault()
            ?? throw new ValidationFailedException([new FieldError("spark", model.Source is LocalSource local ? $"{model.Id} lives on {local.Spark}, which is not configured." : "No Spark is configured.")]);
    }

    private static ModelDefinition Find(ModelCatalog catalog, string id) => Find(catalog.Current, id);

    private static ModelDefinition Find(CatalogSnapshot catalog, string id) =>
        catalog.Find(id) ?? throw new KeyNotFoundException($"No model has the id '{id}'.");

    public static string ETag(ModelDefinition model) => EntityTags.Quote(CatalogStore.Version(model));

}
