using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Launch;

public static class LaunchRegistration
{
    public static IServiceCollection AddLaunch(this IServiceCollection services) => services.AddSingleton<LaunchPlanner>();
}
