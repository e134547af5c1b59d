from django.contrib.auth import views as auth_views
from django.urls import path

from store import views

app_name = "store"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.StoreLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="store:login"), name="logout"),
    path("enrol/", views.enrol, name="enrol"),
    path("cards/<int:card_id>/", views.card_detail, name="card"),
    path("flyers/", views.flyers, name="flyers"),
    path("cards/<int:card_id>/<str:action>/", views.card_action, name="card_action"),
]
