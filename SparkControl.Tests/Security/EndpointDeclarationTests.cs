using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Security;

namespace SparkControl.Tests.Security;

/// <summary>
/// Every endpoint the app maps (read from its own endpoint data source, pages and the circuit included) declares who may
/// call it: one of the access policies, or it is on the short, named list of anonymous endpoints. A new endpoint that
/// declares nothing fails here.
/// </summary>
public sealed class EndpointDeclarationTests
{
    /// <summary>Anonymous by design, each with its reason.</summary>
    private static readonly Dictionary<string, string> Anonymous = new(StringComparer.Ordinal)
    {
        ["/healthz"] = "a monitor's liveness check; only the status without a sign-in",
        ["/signin"] = "the sign-in page",
        ["/setup"] = "the first run's page, usable only with the setup token",
        ["/account/signin"] = "the sign-in form's target (antiforgery-checked)",
        ["/account/setup"] = "the setup form's target (antiforgery-checked, needs the token)",
        ["/not-found"] = "the not-found page",
        ["/Error"] = "the error page",
    };

    private static readonly HashSet<string> Policies = [AccessPolicies.Viewer, AccessPolicies.Operator, AccessPolicies.Admin, AccessPolicies.Gateway, AccessPolicies.Metrics];

    [Fact]
    public async Task EveryEndpoint_RequiresAPolicy_OrIsOnTheAnonymousList()
    {
        await using var app = await SparkControlApp.StartAsync();
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

        var undeclared = Undeclared(endpoints);

        Assert.True(endpoints.Count > 60, $"only {endpoints.Count} endpoints found");
        Assert.True(undeclared.Count == 0, string.Join('\n', undeclared));
    }

    [Fact]
    public void TheCheck_NamesAnEndpointThatDeclaresNothing_OrIsAnonymousOffTheList()
    {
        var bare = new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/api/new-thing"), 0, EndpointMetadataCollection.Empty, "new thing");
        var open = new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/api/open-thing"), 0, new EndpointMetadataCollection(new AllowAnonymousAttribute()), "open thing");
        var odd = new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/api/odd"), 0, new EndpointMetadataCollection(new AuthorizeAttribute("someone")), "odd policy");
        var fine = new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/api/fine"), 0, new EndpointMetadataCollection(new AuthorizeAttribute(AccessPolicies.Operator)), "fine");

        var undeclared = Undeclared([bare, open, odd, fine]);

        Assert.Equal(3, undeclared.Count);
        Assert.Contains(undeclared, u => u.StartsWith("/api/new-thing", StringComparison.Ordinal));
        Assert.Contains(undeclared, u => u.StartsWith("/api/open-thing", StringComparison.Ordinal));
        Assert.Contains(undeclared, u => u.StartsWith("/api/odd", StringComparison.Ordinal));
    }

    private static List<string> Undeclared(IEnumerable<RouteEndpoint> endpoints)
    {
        var undeclared = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var pattern = "/" + (endpoint.RoutePattern.RawText ?? string.Empty).TrimStart('/');
            if (IsStaticAsset(endpoint))
            {
                // The panel's own CSS, scripts and icons (and, in Development, the fallback that serves files only).
                continue;
            }

            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                if (!Anonymous.ContainsKey(pattern))
                {
                    undeclared.Add($"{pattern}: anonymous but not on the list");
                }

                continue;
            }

            var declared = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
            if (declared.Count == 0 || declared.Any(p => p is null || !Policies.Contains(p)))
            {
                undeclared.Add($"{pattern} ({endpoint.DisplayName}): declares [{string.Join(", ", declared)}]");
            }
        }

        return undeclared;
    }

    private static bool IsStaticAsset(RouteEndpoint endpoint) =>
        endpoint.Metadata.Any(m => m.GetType().Name == "StaticAssetDescriptor")
        || endpoint.RoutePattern.Parameters.Any(p => p.ParameterPolicies.Any(policy => policy.Content == "file"))
        || Path.HasExtension(endpoint.RoutePattern.RawText);
}
