using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Nim;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>NIM installs: start one (202, its progress at the Location), read one, list them.</summary>
public static class NimEndpoints
{
    /// <summary>
    /// <c>{"spark","image","servedName","port","cacheDir"?,"memoryEstimateGiB","registerModel","registerService"}</c>;
    /// <c>registerModel</c> defaults to true.
    /// </summary>
    public sealed record NimInstallBody(string? Spark, string? Image, string? ServedName, int? Port, string? CacheDir, double? MemoryEstimateGiB, bool? RegisterModel, bool? RegisterService)
    {
        public NimInstallRequest ToRequest() => new()
        {
            Spark = Spark ?? string.Empty,
            Image = Image ?? string.Empty,
            ServedName = ServedName ?? string.Empty,
            Port = Port ?? 8000,
            CacheDir = string.IsNullOrEmpty(CacheDir) ? null : CacheDir,
            MemoryEstimateGiB = MemoryEstimateGiB ?? 0,
            RegisterModel = RegisterModel ?? true,
            RegisterService = RegisterService ?? false,
        };
    }

    public static IEndpointRouteBuilder MapNim(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/nim").WithTags("NIM").ValidateRouteValues(("id", RouteValueValidation.NimInstallId));
        group.MapPost("/", InstallAsync).RequireAuthorization(AccessPolicies.Admin);
        group.MapGet("/", (NimInstaller installs) => TypedResults.Ok(installs.All)).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{id}", Get).RequireAuthorization(AccessPolicies.Viewer);
        return endpoints;
    }

    /// <summary>400 for a field, 409 for a refusal (no NGC key, registry not allowed, name or port taken, disk too small), else 202.</summary>
    public static async Task<Accepted<NimInstallStatus>> InstallAsync(NimInstallBody body, NimInstaller installs, HttpContext context, CancellationToken cancellationToken)
    {
        var status = await installs.StartAsync(body.ToRequest(), AccessPolicies.ActorOf(context.User), cancellationToken);
        return TypedResults.Accepted($"/api/nim/{status.Id}", status);
    }

    public static Ok<NimInstallStatus> Get(string id, NimInstaller installs) =>
        TypedResults.Ok(installs.Find(id) ?? throw new KeyNotFoundException($"No NIM install has the id '{Validators.Printable(id)}'."));
}
