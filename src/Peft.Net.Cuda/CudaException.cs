namespace Peft.Net.Cuda;

/// <summary>
/// A CUDA driver call failed. <see cref="ErrorName"/> is the driver's name for the error
/// (e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>), <see cref="Operation"/> the call or step that failed.
/// </summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception for a failed driver call.</summary>
    /// <param name="operation">The driver function or step that failed.</param>
    /// <param name="errorCode">The <c>CUresult</c> value.</param>
    /// <param name="errorName">The driver's name for <paramref name="errorCode"/>.</param>
    /// <param name="errorDescription">The driver's description of <paramref name="errorCode"/>.</param>
    /// <param name="detail">Extra context (kernel name, JIT log, …), or null.</param>
    public CudaException(string operation, int errorCode, string errorName, string errorDescription, string? detail = null)
        : base(FormatMessage(operation, errorCode, errorName, errorDescription, detail))
    {
        Operation = operation;
        ErrorCode = errorCode;
        ErrorName = errorName;
    }

    /// <summary>The driver function or step that failed.</summary>
    public string Operation { get; }

    /// <summary>The <c>CUresult</c> value returned by the driver.</summary>
    public int ErrorCode { get; }

    /// <summary>The driver's name for the error, e.g. <c>CUDA_ERROR_ILLEGAL_ADDRESS</c>.</summary>
    public string ErrorName { get; }

    private static string FormatMessage(string operation, int code, string name, string description, string? detail) =>
        $"{operation} failed with {name} ({code}): {description}" + (detail is null ? "" : $" — {detail}");
}
