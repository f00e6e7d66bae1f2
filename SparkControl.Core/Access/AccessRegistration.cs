using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Access;

public static class AccessRegistration
{
    /// <summary>Users, API keys and the setup token; the caller supplies the password hashing.</summary>
    public static IServiceCollection AddAccess<THashing>(this IServiceCollection services)
        where THashing : class, IPasswordHashing
    {
        services.AddSingleton<IPasswordHashing, THashing>();
        services.AddSingleton<AccessStore>();
        services.AddSingleton<UserDirectory>();
        services.AddSingleton<ApiKeyRegistry>();
        services.AddSingleton<SetupToken>();
        return services;
    }
}
