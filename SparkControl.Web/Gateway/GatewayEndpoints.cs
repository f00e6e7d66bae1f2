using Microsoft.Extensions.Options;
using SparkControl.Core.Gateway;
using SparkControl.Web.Security;

namespace SparkControl.Web.Gateway;

/// <summary>The OpenAI-compatible endpoint at <c>/v1</c>: chat, completions, embeddings, audio, models.</summary>
public static class GatewayEndpoints
{
    public const string Prefix = "/v1";

    /// <summary>The routes the gateway forwards with YARP, under <see cref="Prefix"/>: mapped here, and taken ahead by <see cref="GatewayFastPath"/>.</summary>
    public static readonly IReadOnlyList<(string Path, GatewayRoute Route)> ForwardingRoutes =
    [
        ("/chat/completions", GatewayRoute.Chat),
        ("/completions", GatewayRoute.Completions),
        ("/embeddings", GatewayRoute.Embeddings),
    ];

    public static IServiceCollection AddGateway(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.AddSingleton<GatewayRoutes>();
        services.AddSingleton(sp => new GatewayGate(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Core.Diagnostics.SparkControlMetrics>()));
        services.AddSingleton<Core.Swaps.IDrainGate>(sp => sp.GetRequiredService<GatewayGate>());
        services.AddSingleton<GatewayAdmission>();
        services.AddSingleton<GatewayForwarder>();
        services.AddSingleton<AudioRoutes>();
        services.AddSingleton(sp => new AudioCapacity(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Core.Diagnostics.SparkControlMetrics>()));
        services.AddSingleton<AudioForwarder>();
        return services;
    }

    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGroup(Prefix).WithTags("Gateway").RequireAuthorization(AccessPolicies.Gateway);
        // GatewayFastPath serves what these admit ahead of the general pipeline; they answer everything else (refusals).
        foreach (var (path, route) in ForwardingRoutes)
        {
            v1.MapPost(path, (HttpContext context, GatewayForwarder forwarder) => forwarder.ForwardAsync(context, route));
        }

        v1.MapPost("/audio/transcriptions", (HttpContext context, AudioForwarder audio) => audio.TranscribeAsync(context, translation: false));
        v1.MapPost("/audio/translations", (HttpContext context, AudioForwarder audio) => audio.TranscribeAsync(context, translation: true));
        v1.MapPost("/audio/speech", (HttpContext context, AudioForwarder audio) => audio.SpeechAsync(context));
        v1.MapGet("/models", Models);
        // Made now, not at the first upload: it clears what a crashed run left in the spool.
        _ = endpoints.ServiceProvider.GetRequiredService<AudioForwarder>();
        return endpoints;
    }

    /// <summary>Every name the gateway answers to now, chat and audio, as OpenAI's list of models.</summary>
    public static IResult Models(GatewayRoutes routes, AudioRoutes audio)
    {
        var data = routes.Targets()
            .SelectMany(t => t.Names.Select(name => new { id = name, @object = "model", created = 0, owned_by = "spark-control", root = t.ModelId ?? name, spark = t.Spark }))
            .Concat(audio.Served().Select(a => new { id = a.Name, @object = "model", created = 0, owned_by = "spark-control", root = a.Upstream, spark = a.Worker.Spark }))
            .DistinctBy(m => m.id)
            .OrderBy(m => m.id, StringComparer.Ordinal)
            .ToArray();
        return Results.Json(new { @object = "list", data });
    }
}
