using Microsoft.Extensions.DependencyInjection;
using SparkControl.Core.Gpu;

namespace SparkControl.Core.Swaps;

public static class SwapsRegistration
{
    /// <summary>
    /// The orchestrator (its readiness probes through <paramref name="probeClient"/>'s client) and its history, and model
    /// activity for the GPU ledger: health's, with the swaps' phases on top.
    /// </summary>
    public static IServiceCollection AddSwaps(this IServiceCollection services, Func<HttpClient> probeClient)
    {
        services.AddSingleton<SwapHistory>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<SwapOrchestrator>(sp, probeClient()));
        services.AddSingleton<SwapModelActivitySource>();
        services.AddSingleton<IModelActivitySource>(sp => sp.GetRequiredService<SwapModelActivitySource>());
        return services;
    }
}
