using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Sparks;

public static class SparksRegistration
{
    /// <summary>The fleet, the work running on each Spark, <c>sparks.yaml</c>, and the connection test.</summary>
    public static IServiceCollection AddSparks(this IServiceCollection services)
    {
        services.AddSingleton<SparkFleet>();
        services.AddSingleton<SparkWork>();
        services.AddSingleton<SparkSettingsStore>();
        services.AddSingleton<SparkConnectionTester>();
        return services;
    }
}
