//! The macros an inference module is written with: its whole `main.rs`
//! ([`inference_module!`](crate::inference_module), or
//! [`named_module!`](crate::named_module) for a module whose network the host holds), and the
//! embedded model they load ([`load_embedded!`](crate::load_embedded)), which native tests
//! load too. The program they expand to is [`crate::cli::main`].

/// `$predictor` loaded from `artifacts/<algorithm>/` (and the extra files named), embedded at
/// compile time by [`embedded_artifacts!`](crate::embedded_artifacts): what a module answers
/// with, and what its native tests compare it to.
#[macro_export]
macro_rules! load_embedded {
    ($predictor:ty, $algorithm:literal $(, $extra:literal)* $(,)?) => {
        <$predictor as $crate::cli::InferenceModel>::load(&$crate::embedded_artifacts!(
            $algorithm $(, $extra)*
        ))
    };
}

/// An inference module's whole `main.rs`: `module_kit::inference_module!(Predictor, "iris")`
/// (the algorithm's artifacts directory, then any extra files it embeds).
///
/// The model is loaded once per instance and kept: on first use, or ahead of it by the
/// `wizer-initialize` export, which a host that keeps models loaded (`model-server`) calls
/// once and snapshots, so that every fresh instance starts with the weights already decoded.
#[macro_export]
macro_rules! inference_module {
    ($predictor:ty, $algorithm:literal $(, $extra:literal)* $(,)?) => {
        ::std::thread_local! {
            static MODEL: ::std::cell::OnceCell<::std::result::Result<$predictor, ::std::string::String>> =
                const { ::std::cell::OnceCell::new() };
        }

        fn load_model() -> ::std::result::Result<$predictor, ::std::string::String> {
            $crate::load_embedded!($predictor, $algorithm $(, $extra)*)
                .map_err(|e| ::std::string::ToString::to_string(&e))
        }

        fn main() -> ::std::process::ExitCode {
            MODEL.with(|model| {
                $crate::cli::main::<$predictor>(|| {
                    model.get_or_init(load_model).as_ref().map_err(::std::clone::Clone::clone)
                })
            })
        }

        /// Loads the model ahead of `_start`, for a host that snapshots the instance.
        #[cfg(target_os = "wasi")]
        #[allow(unsafe_code)] // naming an export is `unsafe` syntax in edition 2024; nothing unsafe runs
        #[unsafe(export_name = "wizer-initialize")]
        pub extern "C" fn preload_model() {
            MODEL.with(|model| {
                if let Ok(loaded) = model.get_or_init(load_model) {
                    $crate::cli::warm_up(loaded);
                }
            });
        }
    };
}

/// A named-graph module's whole program (feature `named`):
/// `module_kit::named_module!(iris::inference::IrisPredictor<module_kit::named::HostGraph>, "iris")`.
/// The same command line as [`inference_module!`], with `config.json` and `metrics.json`
/// embedded and the network asked of the host by name through wasi-nn. It exports no
/// initialiser: there are no weights to decode, and the host's graph is a per-instance handle
/// that no snapshot could hold.
#[macro_export]
macro_rules! named_module {
    ($predictor:ty, $algorithm:literal) => {
        ::std::thread_local! {
            static MODEL: ::std::cell::OnceCell<::std::result::Result<$predictor, ::std::string::String>> =
                const { ::std::cell::OnceCell::new() };
        }

        fn load_model() -> ::std::result::Result<$predictor, ::std::string::String> {
            <$predictor as $crate::cli::InferenceModel>::load(&$crate::named_artifacts!($algorithm))
                .map_err(|e| ::std::string::ToString::to_string(&e))
        }

        fn main() -> ::std::process::ExitCode {
            MODEL.with(|model| {
                $crate::cli::main::<$predictor>(|| {
                    model.get_or_init(load_model).as_ref().map_err(::std::clone::Clone::clone)
                })
            })
        }
    };
}
